"""deploy/jaeger: the compose and config files parse, and their ports and endpoints agree with lc-otel's defaults."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from lc_otel._attributes.tags_metadata import tag_key
from lc_otel._cli.demo import DEFAULT_JAEGER_UI, resolve_protocol
from lc_otel._cli.traces.jaeger_client import DEFAULT_JAEGER_URL
from lc_otel.cli import build_parser

DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "jaeger"
IMAGE_DEFAULT = re.compile(r"^\$\{[A-Z_]+:-(?P<image>[^}]+)\}$")
OTLP_GRPC, OTLP_HTTP, QUERY_HTTP = 4317, 4318, 16686


def load(name: str) -> Any:
    return yaml.safe_load((DEPLOY / name).read_text(encoding="utf-8"))


def port_of(endpoint: str) -> int:
    return int(endpoint.rsplit(":", 1)[1])


def published(service: dict[str, Any]) -> dict[int, int]:
    """Container port → host port."""
    out: dict[int, int] = {}
    for mapping in service.get("ports", []):
        host, container = str(mapping).split(":")
        out[int(container)] = int(host)
    return out


def image(service: dict[str, Any]) -> str:
    match = IMAGE_DEFAULT.match(service["image"])
    assert match, f"image should be overridable and have a default: {service['image']}"
    return match["image"]


def check_pipeline(config: dict[str, Any]) -> None:
    service = config["service"]
    for extension in service.get("extensions", []):
        assert extension in config["extensions"]
    connectors = config.get("connectors") or {}
    for pipeline in service["pipelines"].values():
        for kind in ("receivers", "processors", "exporters"):
            for name in pipeline.get(kind, []):
                # A connector is the exporter of one pipeline and the receiver of another.
                defined = name in config.get(kind, {}) or (kind != "processors" and name in connectors)
                assert defined, f"{kind} {name} is used but not defined"


@pytest.mark.parametrize("name", ["jaeger-memory.yaml", "jaeger-badger.yaml", "jaeger-spm.yaml"])
def test_jaeger_configs_listen_where_lc_otel_sends_and_queries(name: str) -> None:
    config = load(name)
    check_pipeline(config)
    protocols = config["receivers"]["otlp"]["protocols"]
    # 0.0.0.0: a receiver on localhost inside a container is unreachable from the host.
    assert protocols["grpc"]["endpoint"] == f"0.0.0.0:{OTLP_GRPC}"
    assert protocols["http"]["endpoint"] == f"0.0.0.0:{OTLP_HTTP}"
    query = config["extensions"]["jaeger_query"]
    assert query["http"]["endpoint"] == f"0.0.0.0:{QUERY_HTTP}"
    assert urlsplit(DEFAULT_JAEGER_URL).port == QUERY_HTTP
    assert urlsplit(DEFAULT_JAEGER_UI).port == QUERY_HTTP
    store = query["storage"]["traces"]
    assert store in config["extensions"]["jaeger_storage"]["backends"]
    assert config["exporters"]["jaeger_storage_exporter"]["trace_storage"] == store
    assert config["extensions"]["healthcheckv2"]["http"]["endpoint"] == "0.0.0.0:13133"


def test_memory_store_holds_more_traces_than_a_search_asks_for() -> None:
    memory = load("jaeger-memory.yaml")["extensions"]["jaeger_storage"]["backends"]["main_store"]["memory"]
    default_limit = build_parser().parse_args(["traces"]).limit
    assert 0 < default_limit <= memory["max_traces"]


def test_badger_variant_persists_in_the_mounted_volume() -> None:
    badger = load("jaeger-badger.yaml")["extensions"]["jaeger_storage"]["backends"]["main_store"]["badger"]
    assert badger["ephemeral"] is False
    override = load("docker-compose.badger.yml")
    volumes = override["services"]["jaeger"]["volumes"]
    assert "jaeger-data:/tmp" in volumes
    assert "jaeger-data" in override["volumes"]
    for directory in badger["directories"].values():
        assert directory.startswith("/tmp/")
    base_target = load("docker-compose.yml")["services"]["jaeger"]["volumes"][0].split(":")[1]
    assert f"./jaeger-badger.yaml:{base_target}:ro" in volumes  # same target: replaces the memory config


def test_compose_publishes_lc_otel_default_ports_and_pins_jaeger() -> None:
    compose = load("docker-compose.yml")
    jaeger = compose["services"]["jaeger"]
    ports = published(jaeger)
    for port in (OTLP_GRPC, OTLP_HTTP, QUERY_HTTP):
        assert ports[port] == port
    assert re.fullmatch(r"cr\.jaegertracing\.io/jaegertracing/jaeger:2\.\d+\.\d+", image(jaeger))
    assert jaeger["command"] == ["--config", "/etc/jaeger/config.yaml"]
    assert jaeger["volumes"] == ["./jaeger-memory.yaml:/etc/jaeger/config.yaml:ro"]
    assert "13133/status" in " ".join(jaeger["healthcheck"]["test"])
    # The demo picks the protocol that listens on each published port.
    assert resolve_protocol(f"http://localhost:{ports[OTLP_GRPC]}", None) == "grpc"
    assert resolve_protocol(f"http://localhost:{ports[OTLP_HTTP]}", None) == "http/protobuf"


def test_collector_variant_forwards_to_jaeger_otlp_grpc() -> None:
    compose = load("docker-compose.collector.yml")
    services = compose["services"]
    assert image(services["jaeger"]) == image(load("docker-compose.yml")["services"]["jaeger"])
    assert re.fullmatch(r"otel/opentelemetry-collector-contrib:\d+\.\d+\.\d+", image(services["otel-collector"]))
    collector_ports = published(services["otel-collector"])
    assert collector_ports[OTLP_GRPC] == OTLP_GRPC
    assert collector_ports[OTLP_HTTP] == OTLP_HTTP
    assert OTLP_GRPC not in published(services["jaeger"])  # the collector owns the host's OTLP ports
    assert published(services["jaeger"])[QUERY_HTTP] == QUERY_HTTP
    assert services["otel-collector"]["depends_on"]["jaeger"]["condition"] == "service_healthy"

    config = load("otel-collector.yaml")
    check_pipeline(config)
    (exporter,) = config["service"]["pipelines"]["traces"]["exporters"]
    host, port = config["exporters"][exporter]["endpoint"].split(":")
    assert host in services
    jaeger_grpc = load("jaeger-memory.yaml")["receivers"]["otlp"]["protocols"]["grpc"]["endpoint"]
    assert int(port) == port_of(jaeger_grpc)
    processors = config["service"]["pipelines"]["traces"]["processors"]
    assert processors[0] == "memory_limiter"
    assert processors[-1] == "batch"
    assert config["exporters"][exporter]["retry_on_failure"]["enabled"] is True
    assert config["receivers"]["otlp"]["protocols"]["grpc"]["endpoint"] == f"0.0.0.0:{OTLP_GRPC}"


@pytest.mark.parametrize(
    "compose",
    ["docker-compose.yml", "docker-compose.badger.yml", "docker-compose.collector.yml", "docker-compose.spm.yml"],
)
def test_mounted_files_exist(compose: str) -> None:
    for service in load(compose)["services"].values():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (DEPLOY / source).is_file(), source


def test_readme_commands_and_tag_syntax_match_the_cli() -> None:
    readme = (DEPLOY / "README.md").read_text(encoding="utf-8")
    commands = [line.split("#")[0].strip() for line in readme.splitlines() if line.startswith(".venv/bin/lc-otel ")]
    assert len(commands) >= 5
    parser = build_parser()
    for command in commands:
        parser.parse_args(shlex.split(command)[1:])  # exits on an unknown option
    assert f"`{tag_key('production')}=true`" in readme
    assert "docker compose -f deploy/jaeger/docker-compose.yml up -d" in readme
    assert "http://localhost:16686/trace/" in readme


def test_spm_variant_feeds_the_monitor_tab_from_span_metrics_through_prometheus() -> None:
    """Jaeger's SPM set-up: spanmetrics connector -> prometheus exporter <- Prometheus <- jaeger_query."""
    config = load("jaeger-spm.yaml")
    pipelines = config["service"]["pipelines"]
    assert "spanmetrics" in config["connectors"]
    assert "spanmetrics" in pipelines["traces"]["exporters"]
    assert "jaeger_storage_exporter" in pipelines["traces"]["exporters"]  # traces are still stored
    span_metrics = [p for p in pipelines.values() if "spanmetrics" in p.get("receivers", [])]
    assert [p["exporters"] for p in span_metrics] == [["prometheus"]]
    # lc-otel sends its GenAI metrics with the spans: an OTLP metrics pipeline takes them.
    assert pipelines["metrics"]["receivers"] == ["otlp"]
    assert pipelines["metrics"]["exporters"] == ["prometheus"]
    exporter_port = port_of(config["exporters"]["prometheus"]["endpoint"])

    query = config["extensions"]["jaeger_query"]
    backend = config["extensions"]["jaeger_storage"]["metric_backends"][query["storage"]["metrics"]]["prometheus"]
    prometheus_url = urlsplit(backend["endpoint"])

    base = load("docker-compose.yml")
    override = load("docker-compose.spm.yml")
    assert override["name"] == base["name"]  # the same project: an override, not a second Jaeger
    services = override["services"]
    assert prometheus_url.hostname in services
    prometheus = services["prometheus"]
    assert published(prometheus)[prometheus_url.port] == prometheus_url.port
    assert re.fullmatch(r"prom/prometheus:v\d+\.\d+\.\d+", image(prometheus))
    assert "/-/ready" in " ".join(prometheus["healthcheck"]["test"])
    assert services["jaeger"]["depends_on"]["prometheus"]["condition"] == "service_healthy"
    base_target = base["services"]["jaeger"]["volumes"][0].split(":")[1]
    assert services["jaeger"]["volumes"] == [f"./jaeger-spm.yaml:{base_target}:ro"]

    (mount,) = prometheus["volumes"]
    source, target = mount.split(":")[:2]
    assert target == "/etc/prometheus/prometheus.yml"
    scrape = yaml.safe_load((DEPLOY / source).read_text(encoding="utf-8"))
    targets = [t for job in scrape["scrape_configs"] for c in job["static_configs"] for t in c["targets"]]
    assert targets == [f"jaeger:{exporter_port}"]
    assert "jaeger" in base["services"]


def test_readme_says_how_to_open_the_monitor_tab() -> None:
    readme = (DEPLOY / "README.md").read_text(encoding="utf-8")
    assert "docker compose -f deploy/jaeger/docker-compose.yml -f deploy/jaeger/docker-compose.spm.yml up -d" in readme
    assert "http://localhost:16686/monitor" in readme

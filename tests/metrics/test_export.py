"""configure() sends the metrics for real: OTLP/HTTP and OTLP/gRPC to local receivers, a Prometheus scrape,
the embedded default's file. Each case runs ``tests.metrics.child_app`` in a child process, because the
global MeterProvider can be set only once per process."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Iterator
from concurrent import futures
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf.json_format import ParseDict
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2, metrics_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from opentelemetry.proto.common.v1.common_pb2 import KeyValue
from prometheus_client.parser import text_string_to_metric_families

ROOT = Path(__file__).resolve().parents[2]
CHAT = {
    "gen_ai.operation.name": "chat",
    "gen_ai.provider.name": "fake",
    "gen_ai.request.model": "fake-model-1",
    "gen_ai.response.model": "fake-model-1",
}


def child_env(**variables: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "LC_OTEL_"))}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env.update(variables)
    return env


def run_child(tmp_path: Path, **variables: str) -> str:
    return run_child_process(tmp_path, **variables).stdout


def run_child_process(tmp_path: Path, **variables: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, "-m", "tests.metrics.child_app", "run"],
        cwd=tmp_path,
        env=child_env(**variables),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done


def run_script(tmp_path: Path, script: str) -> str:
    """Run ``python -c script`` in a clean environment; return what it printed, stripped."""
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def value_of(attribute: KeyValue) -> Any:
    kind = attribute.value.WhichOneof("value")
    return getattr(attribute.value, kind) if kind else None


def histograms(
    requests: list[metrics_service_pb2.ExportMetricsServiceRequest],
) -> dict[str, dict[frozenset, tuple[int, float]]]:
    """Metric name → {attributes: (count, sum)} over every request (cumulative: the last point wins)."""
    out: dict[str, dict[frozenset, tuple[int, float]]] = {}
    for request in requests:
        for resource_metrics in request.resource_metrics:
            service = {a.key: value_of(a) for a in resource_metrics.resource.attributes}["service.name"]
            assert service == "metrics-child"
            for scope_metrics in resource_metrics.scope_metrics:
                assert scope_metrics.scope.name == "lc_otel"
                for metric in scope_metrics.metrics:
                    assert metric.WhichOneof("data") == "histogram", metric.name
                    for point in metric.histogram.data_points:
                        key = frozenset((a.key, value_of(a)) for a in point.attributes)
                        out.setdefault(metric.name, {})[key] = (point.count, point.sum)
    return out


def check_the_childs_metrics(found: dict[str, dict[frozenset, tuple[int, float]]]) -> None:
    tokens = found["gen_ai.client.token.usage"]
    assert tokens[frozenset({**CHAT, "gen_ai.token.type": "input"}.items())] == (2, 14)
    assert tokens[frozenset({**CHAT, "gen_ai.token.type": "output"}.items())] == (2, 6)
    durations = found["gen_ai.client.operation.duration"]
    assert durations[frozenset(CHAT.items())][0] == 2
    failed = {"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "explode", "error.type": "ValueError"}
    assert durations[frozenset(failed.items())][0] == 1
    assert len(durations) == 2
    assert [count for count, _ in found["gen_ai.client.operation.time_to_first_chunk"].values()] == [1]
    assert [count for count, _ in found["gen_ai.client.operation.time_per_output_chunk"].values()] == [1]


# --- OTLP/HTTP ------------------------------------------------------------------------------------------


class HttpReceiver:
    """An OTLP/HTTP receiver on 127.0.0.1: keeps every metrics request, accepts the traces."""

    def __init__(self) -> None:
        self.metrics: list[metrics_service_pb2.ExportMetricsServiceRequest] = []
        self.paths: list[str] = []
        self.takes_metrics = True
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.paths.append(self.path)
                if self.path == "/v1/metrics" and not receiver.takes_metrics:  # a traces-only backend
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if self.path == "/v1/metrics":
                    assert self.headers["Content-Type"] == "application/x-protobuf"
                    receiver.metrics.append(metrics_service_pb2.ExportMetricsServiceRequest.FromString(body))
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet."""

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


@pytest.fixture(name="http_receiver")
def _http_receiver() -> Iterator[HttpReceiver]:
    receiver = HttpReceiver()
    yield receiver
    receiver.close()


def test_metrics_go_over_otlp_http_to_the_shared_endpoint(tmp_path: Path, http_receiver: HttpReceiver) -> None:
    run_child(tmp_path, OTEL_EXPORTER_OTLP_ENDPOINT=f"http://127.0.0.1:{http_receiver.port}")
    assert "/v1/metrics" in http_receiver.paths
    assert "/v1/traces" in http_receiver.paths
    check_the_childs_metrics(histograms(http_receiver.metrics))
    assert not (tmp_path / "lc-otel-metrics.jsonl").exists()


def test_the_metrics_endpoint_variable_is_used_as_is(tmp_path: Path, http_receiver: HttpReceiver) -> None:
    run_child(
        tmp_path,
        OTEL_EXPORTER_OTLP_METRICS_ENDPOINT=f"http://127.0.0.1:{http_receiver.port}/v1/metrics",
        OTEL_EXPORTER_OTLP_METRICS_PROTOCOL="http/protobuf",
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=f"http://127.0.0.1:{http_receiver.port}/v1/traces",
    )
    check_the_childs_metrics(histograms(http_receiver.metrics))


@pytest.mark.parametrize("variable", ["OTEL_EXPORTER_OTLP_COMPRESSION", "OTEL_EXPORTER_OTLP_METRICS_COMPRESSION"])
def test_a_bad_compression_leaves_metrics_on(tmp_path: Path, http_receiver: HttpReceiver, variable: str) -> None:
    """One warning and the default, as for spans: the metric exporter is built and sends, uncompressed."""
    endpoint = f"http://127.0.0.1:{http_receiver.port}"
    done = run_child_process(tmp_path, OTEL_EXPORTER_OTLP_ENDPOINT=endpoint, **{variable: "zstd9"})
    assert "/v1/metrics" in http_receiver.paths
    check_the_childs_metrics(histograms(http_receiver.metrics))
    assert f"{variable}='zstd9' is not one of gzip, deflate, none" in done.stderr
    assert "internal error" not in done.stderr.lower()


def test_a_backend_without_metrics_gets_no_error_log_per_export(tmp_path: Path, http_receiver: HttpReceiver) -> None:
    http_receiver.takes_metrics = False
    done = run_child_process(tmp_path, OTEL_EXPORTER_OTLP_ENDPOINT=f"http://127.0.0.1:{http_receiver.port}")
    assert "/v1/metrics" in http_receiver.paths
    assert "/v1/traces" in http_receiver.paths
    assert "metrics" not in done.stderr.lower(), done.stderr  # not the exporter's error, nor a traceback


# --- OTLP/gRPC ------------------------------------------------------------------------------------------


class MetricsSink(metrics_service_pb2_grpc.MetricsServiceServicer):
    def __init__(self) -> None:
        self.requests: list[metrics_service_pb2.ExportMetricsServiceRequest] = []

    def Export(self, request, context):
        self.requests.append(request)
        return metrics_service_pb2.ExportMetricsServiceResponse()


class TraceSink(trace_service_pb2_grpc.TraceServiceServicer):
    def Export(self, request, context):
        return trace_service_pb2.ExportTraceServiceResponse()


def test_metrics_go_over_otlp_grpc(tmp_path: Path) -> None:
    sink = MetricsSink()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    metrics_service_pb2_grpc.add_MetricsServiceServicer_to_server(sink, server)
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(TraceSink(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        run_child(tmp_path, OTEL_EXPORTER_OTLP_ENDPOINT=f"http://127.0.0.1:{port}", OTEL_EXPORTER_OTLP_PROTOCOL="grpc")
    finally:
        server.stop(grace=None)
    check_the_childs_metrics(histograms(sink.requests))


# --- Prometheus -----------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_the_prometheus_endpoint_serves_the_histograms(tmp_path: Path) -> None:
    port = free_port()
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.metrics.child_app", "serve"],
        cwd=tmp_path,
        env=child_env(
            OTEL_METRICS_EXPORTER="prometheus",
            OTEL_EXPORTER_PROMETHEUS_HOST="127.0.0.1",
            OTEL_EXPORTER_PROMETHEUS_PORT=str(port),
        ),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        for line in child.stdout:
            if line.strip() == "ready":
                break
        else:
            pytest.fail(f"the child never got ready: {child.communicate(timeout=30)}")
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=30) as response:
            text = response.read().decode("utf-8")
    finally:
        _, err = child.communicate(input="", timeout=60)
    assert child.returncode == 0, err
    families = {family.name: family for family in text_string_to_metric_families(text)}
    usage = families["gen_ai_client_token_usage"]
    assert usage.type == "histogram"
    samples = {
        (sample.name, sample.labels.get("gen_ai_token_type"), float(sample.labels.get("le", "nan"))): sample.value
        for sample in usage.samples
        if "le" in sample.labels
    }
    totals = {
        (sample.name, sample.labels["gen_ai_token_type"]): sample.value
        for sample in usage.samples
        if "le" not in sample.labels
    }
    assert totals[("gen_ai_client_token_usage_sum", "input")] == 14
    assert totals[("gen_ai_client_token_usage_count", "output")] == 2
    # The conventions' boundaries: 7 input tokens twice fall in (4, 16].
    assert sorted(le for name, kind, le in samples if kind == "input") == [*(4.0**i for i in range(14)), float("inf")]
    assert samples[("gen_ai_client_token_usage_bucket", "input", 16.0)] == 2
    assert samples[("gen_ai_client_token_usage_bucket", "input", 4.0)] == 0
    duration = families["gen_ai_client_operation_duration_seconds"]
    failed = [
        sample
        for sample in duration.samples
        if sample.name.endswith("_count") and sample.labels.get("error_type") == "ValueError"
    ]
    assert [(s.labels["gen_ai_tool_name"], s.value) for s in failed] == [("explode", 1)]
    chat_counts = [
        s.value
        for s in duration.samples
        if s.name.endswith("_count") and s.labels.get("gen_ai_operation_name") == "chat"
    ]
    assert chat_counts == [2]


# --- the embedded default -------------------------------------------------------------------------------


def test_with_no_endpoint_metrics_go_to_a_json_lines_file_next_to_the_spans(tmp_path: Path) -> None:
    spans = tmp_path / "out" / "spans.jsonl"
    stdout = run_child(tmp_path, LC_OTEL_EXPORT_FILE=str(spans))
    assert stdout.startswith("MeterProvider")
    lines = (tmp_path / "out" / "lc-otel-metrics.jsonl").read_text(encoding="utf-8").splitlines()
    assert lines
    requests = [ParseDict(json.loads(line), metrics_service_pb2.ExportMetricsServiceRequest()) for line in lines]
    check_the_childs_metrics(histograms(requests))


def test_metrics_none_sets_no_meter_provider(tmp_path: Path) -> None:
    stdout = run_child(tmp_path, OTEL_METRICS_EXPORTER="none")
    assert stdout.startswith("_ProxyMeterProvider")  # the API's placeholder: nothing recorded
    assert not (tmp_path / "lc-otel-metrics.jsonl").exists()


def test_an_applications_meter_provider_is_left_alone(tmp_path: Path) -> None:
    script = (
        "from opentelemetry import metrics\n"
        "from opentelemetry.sdk.metrics import MeterProvider\n"
        "from opentelemetry.sdk.metrics.export import InMemoryMetricReader\n"
        "reader = InMemoryMetricReader()\n"
        "own = MeterProvider(metric_readers=[reader])\n"
        "metrics.set_meter_provider(own)\n"
        "import lc_otel\n"
        "from lc_otel.testing import FakeChatModel, reply\n"
        "lc_otel.configure()\n"
        "assert metrics.get_meter_provider() is own\n"
        "lc_otel.instrument()\n"
        "FakeChatModel(responses=[reply()]).invoke('hi')\n"
        "names = [m.name for rm in reader.get_metrics_data().resource_metrics"
        " for sm in rm.scope_metrics for m in sm.metrics]\n"
        "print(sorted(names))\n"
    )
    assert run_script(tmp_path, script) == "['gen_ai.client.operation.duration', 'gen_ai.client.token.usage']"
    assert not (tmp_path / "lc-otel-metrics.jsonl").exists()


def test_event_only_gets_a_logger_provider_whose_events_land_next_to_the_spans(tmp_path: Path) -> None:
    run_child(tmp_path, OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT="EVENT_ONLY")
    lines = (tmp_path / "lc-otel-events.jsonl").read_text(encoding="utf-8").splitlines()
    records = [
        record
        for line in lines
        for resource_logs in json.loads(line)["resourceLogs"]
        for scope_logs in resource_logs["scopeLogs"]
        for record in scope_logs["logRecords"]
    ]
    assert [record["eventName"] for record in records] == ["gen_ai.client.inference.operation.details"] * 2
    first = {attribute["key"]: attribute["value"] for attribute in records[0]["attributes"]}
    assert "What is the password?" in json.dumps(first["gen_ai.input.messages"])
    assert len(records[0]["traceId"]) == 32  # hex, as OTLP/JSON writes ids
    assert len(records[0]["spanId"]) == 16


def test_a_handler_made_before_the_meter_provider_records_once_one_is_set(tmp_path: Path) -> None:
    script = (
        "from opentelemetry import metrics\n"
        "from opentelemetry.sdk.metrics import MeterProvider\n"
        "from opentelemetry.sdk.metrics.export import InMemoryMetricReader\n"
        "from opentelemetry.sdk.trace import TracerProvider\n"
        "from lc_otel import OpenTelemetryCallbackHandler\n"
        "from lc_otel.testing import FakeChatModel, reply\n"
        "handler = OpenTelemetryCallbackHandler(TracerProvider())\n"
        "model = FakeChatModel(responses=[reply(input_tokens=5, output_tokens=2)])\n"
        "model.invoke('before', {'callbacks': [handler]})\n"  # no provider yet: nothing recorded
        "reader = InMemoryMetricReader()\n"
        "metrics.set_meter_provider(MeterProvider(metric_readers=[reader]))\n"
        "model.invoke('after', {'callbacks': [handler]})\n"
        "points = [(m.name, p.count) for rm in reader.get_metrics_data().resource_metrics"
        " for sm in rm.scope_metrics for m in sm.metrics for p in m.data.data_points]\n"
        "print(sorted(points))\n"
    )
    assert run_script(tmp_path, script) == (
        "[('gen_ai.client.operation.duration', 1), ('gen_ai.client.token.usage', 1), ('gen_ai.client.token.usage', 1)]"
    )

"""configure(): where spans go, the standard variables, the embedded file default, faults and exit time."""

from __future__ import annotations

import json
import logging
import os
import re
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from lc_otel._export.configure import ExportTarget, resolve_target
from lc_otel._export.pipeline import BoundedBatchProcessor, ExportGuard

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith(("OTEL_", "LC_OTEL_")):
            monkeypatch.delenv(name)


# --- where spans go -----------------------------------------------------------------------------------


def test_no_endpoint_anywhere_means_the_local_file(monkeypatch: pytest.MonkeyPatch) -> None:
    assert resolve_target() == ExportTarget(path="lc-otel-spans.jsonl")
    monkeypatch.setenv("LC_OTEL_EXPORT_FILE", "out/spans.jsonl")
    assert resolve_target() == ExportTarget(path="out/spans.jsonl")


@pytest.mark.parametrize(
    ("endpoint", "protocol", "expected"),
    [
        ("http://collector:4318", "http/protobuf", "http://collector:4318/v1/traces"),
        ("http://collector:4318/", "http/protobuf", "http://collector:4318/v1/traces"),
        ("http://collector:4318/v1/traces", "http/protobuf", "http://collector:4318/v1/traces"),
        ("https://otlp.example/base", "http/protobuf", "https://otlp.example/base/v1/traces"),
        ("http://collector:4317", "grpc", "http://collector:4317"),
        ("collector:4317", "grpc", "http://collector:4317"),
    ],
)
def test_endpoint_means_what_otel_exporter_otlp_endpoint_means(endpoint: str, protocol: str, expected: str) -> None:
    target = resolve_target(endpoint=endpoint, protocol=protocol)
    assert (target.protocol, target.endpoint, target.path) == (protocol, expected, None)


def test_the_signal_specific_variable_is_used_as_is(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://collector:4318/custom")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://ignored:4318")
    assert resolve_target().endpoint == "http://collector:4318/custom"


def test_precedence_argument_then_lc_otel_then_otel(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://otel:4318")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
    assert resolve_target() == ExportTarget(protocol="grpc", endpoint="http://otel:4318")
    monkeypatch.setenv("LC_OTEL_ENDPOINT", "http://lc:4318")
    monkeypatch.setenv("LC_OTEL_PROTOCOL", "http/protobuf")
    assert resolve_target().endpoint == "http://lc:4318/v1/traces"
    explicit = resolve_target(endpoint="http://arg:4317", protocol="grpc")
    assert (explicit.protocol, explicit.endpoint) == ("grpc", "http://arg:4317")


def test_the_protocol_defaults_to_grpc_on_port_4317_and_http_elsewhere() -> None:
    assert resolve_target(endpoint="http://localhost:4317").protocol == "grpc"
    assert resolve_target(endpoint="http://localhost:4318").protocol == "http/protobuf"


def test_bad_values_warn_and_fall_back(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "carrier-pigeon")
    assert resolve_target(endpoint="http://localhost:4318").protocol == "http/protobuf"
    assert "carrier-pigeon" in caplog.text
    caplog.clear()
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "ftp://nope:99999")
    assert resolve_target() == ExportTarget(path="lc-otel-spans.jsonl")
    assert "ftp://nope:99999" in caplog.text


def test_headers_from_the_standard_variables_or_the_argument(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_HEADERS", "Authorization=Bearer%20abc,x-tenant=t1")
    assert resolve_target(endpoint="http://c:4318").headers == {"authorization": "Bearer abc", "x-tenant": "t1"}
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "x-tenant=t2")
    assert resolve_target(endpoint="http://c:4318").headers == {"x-tenant": "t2"}
    assert resolve_target(endpoint="http://c:4318", headers={"api-key": "k"}).headers == {"api-key": "k"}


# --- the guard: outages counted and logged once ---------------------------------------------------------


class _Backend(SpanExporter):
    def __init__(self) -> None:
        self.up = False
        self.received = 0

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        if not self.up:
            logging.getLogger(type(self).__module__).error("exporter's own per-batch error")
            return SpanExportResult.FAILURE
        self.received += len(spans)
        return SpanExportResult.SUCCESS


def test_an_outage_is_counted_logged_once_and_recovers(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    backend = _Backend()
    now = [0.0]
    guard = ExportGuard(backend, target="backend", retry_after=5.0, clock=lambda: now[0])
    processor = BoundedBatchProcessor(guard, max_queue_size=10, max_export_batch_size=4, shutdown_timeout=1.0)
    provider = TracerProvider()
    provider.add_span_processor(processor)
    tracer = provider.get_tracer("t")
    for _ in range(25):  # 15 find the queue full
        tracer.start_span("s").end()
    assert processor.queued == 10
    processor.force_flush()  # fails once, then skips the rest while "down"
    assert guard.dropped == 25
    assert backend.received == 0
    messages = [r.getMessage() for r in caplog.records]
    assert sum("dropping spans" in m for m in messages) == 1, messages
    assert not any("per-batch" in m for m in messages)

    backend.up = True
    now[0] = 6.0  # past retry_after
    for _ in range(3):
        tracer.start_span("s").end()
    processor.force_flush()
    assert backend.received == 3
    assert any("exporting to backend again; 25 spans were dropped" in r.getMessage() for r in caplog.records)
    provider.shutdown()


# --- whole processes: configure() as an application calls it -------------------------------------------


def _python(code: str, cwd: Path, **env: str) -> tuple[subprocess.CompletedProcess[str], float]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "LC_OTEL_"))}
    base["PYTHONPATH"] = str(ROOT)
    began = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=cwd,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return done, time.monotonic() - began


_APP = """
    from langchain_core.runnables import RunnableLambda
    from lc_otel._export.configure import configure
    from lc_otel._instrument import instrument
    provider = configure()
    instrument()
    RunnableLambda(lambda x: x).with_config(run_name="step", tags=["production"]).invoke(1)
"""


def _file_spans(path: Path) -> list[tuple[dict[str, object], dict[str, object]]]:
    """(resource attributes, span) pairs from an OTLP-JSON-lines file."""
    found = []
    for line in path.read_text().splitlines():
        for resource_spans in json.loads(line)["resourceSpans"]:
            resource = {a["key"]: a["value"] for a in resource_spans["resource"]["attributes"]}
            for scope in resource_spans["scopeSpans"]:
                found.extend((resource, span) for span in scope["spans"])
    return found


def test_the_embedded_default_writes_otlp_json_lines_at_exit(tmp_path: Path) -> None:
    done, _ = _python(_APP, tmp_path, OTEL_SERVICE_NAME="svc", OTEL_RESOURCE_ATTRIBUTES="deployment.environment=test")
    assert done.returncode == 0, done.stderr
    [(resource, span)] = _file_spans(tmp_path / "lc-otel-spans.jsonl")
    assert resource["service.name"] == {"stringValue": "svc"}
    assert resource["deployment.environment"] == {"stringValue": "test"}
    assert span["name"] == "step"
    assert {"key": "langchain.tag.production", "value": {"boolValue": True}} in span["attributes"]  # type: ignore[operator]


def test_the_file_path_is_configurable_and_sdk_disabled_exports_nothing(tmp_path: Path) -> None:
    done, _ = _python(_APP, tmp_path, LC_OTEL_EXPORT_FILE="traces/out.jsonl")
    assert done.returncode == 0, done.stderr
    assert len(_file_spans(tmp_path / "traces" / "out.jsonl")) == 1
    done, _ = _python(_APP, tmp_path / "traces", OTEL_SDK_DISABLED="true")
    assert done.returncode == 0, done.stderr
    assert not (tmp_path / "traces" / "lc-otel-spans.jsonl").exists()


def test_an_application_provider_is_left_alone_unless_forced(tmp_path: Path) -> None:
    code = """
        from opentelemetry import trace
        from opentelemetry.sdk.trace import TracerProvider
        from lc_otel._export.configure import configure
        mine = TracerProvider()
        trace.set_tracer_provider(mine)
        assert configure() is mine
        trace.get_tracer("t").start_span("before").end()
        assert configure(force=True) is mine
        trace.get_tracer("t").start_span("after").end()
        print("ok")
    """
    done, _ = _python(code, tmp_path)
    assert done.returncode == 0, done.stderr
    assert [span["name"] for _, span in _file_spans(tmp_path / "lc-otel-spans.jsonl")] == ["after"]


def _dead_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port  # closed again: connections are refused


@pytest.mark.parametrize("protocol", ["grpc", "http/protobuf"])
def test_an_unreachable_backend_delays_exit_by_at_most_5_seconds(tmp_path: Path, protocol: str) -> None:
    code = """
        import sys, time
        from opentelemetry import trace
        from lc_otel._export.configure import configure
        began = time.perf_counter()
        configure(endpoint=sys.argv[1] if len(sys.argv) > 1 else None)
        tracer = trace.get_tracer("t")
        for i in range(5000):
            tracer.start_span("s").end()
        print(f"{time.perf_counter() - began:.3f}")
    """
    started, start_up = _python("import lc_otel._export.configure", tmp_path)  # interpreter start-up and imports
    assert started.returncode == 0
    done, took = _python(code, tmp_path, LC_OTEL_ENDPOINT=f"http://127.0.0.1:{_dead_port()}", LC_OTEL_PROTOCOL=protocol)
    assert done.returncode == 0, done.stderr
    assert float(done.stdout) < 2.0  # 5000 spans ended without waiting for the network
    assert took - start_up < 5.0, (took, start_up)  # the exit budget is 4 s
    assert done.stderr.count("dropping spans") <= 1
    assert "Traceback" not in done.stderr


# --- bad OTEL_* values never break the host ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", "abc"),
        ("OTEL_ATTRIBUTE_COUNT_LIMIT", "-1"),
        ("OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", "1.5"),
        ("OTEL_SPAN_EVENT_COUNT_LIMIT", "many"),
        ("OTEL_LINK_ATTRIBUTE_COUNT_LIMIT", " "),
    ],
)
def test_a_bad_sdk_limit_is_one_warning_and_tracing_stays_on(tmp_path: Path, name: str, value: str) -> None:
    imported, _ = _python("import lc_otel", tmp_path, **{name: value})
    assert imported.returncode == 0, imported.stderr
    assert imported.stderr.count(name) == 1
    # lc_otel first: an import of LangChain before it would meet the bad value in LangSmith's own SDK import.
    done, _ = _python("import lc_otel\n" + textwrap.dedent(_APP), tmp_path, **{name: value})
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.count(name) == 1
    assert f"lc_otel: {name}={value!r} is not a non-negative integer or 'unset'; ignoring it" in done.stderr
    assert [span["name"] for _, span in _file_spans(tmp_path / "lc-otel-spans.jsonl")] == ["step"]


def test_valid_sdk_limits_are_left_alone(tmp_path: Path) -> None:
    code = """
        import os
        import lc_otel
        from opentelemetry.sdk.trace import SpanLimits
        print(os.environ["OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT"], SpanLimits().max_span_attributes)
    """
    done, _ = _python(code, tmp_path, OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT=" 7 ")
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["7", "7"]
    assert done.stderr == ""


class _Collector:
    """A real OTLP receiver on loopback, gRPC or HTTP/protobuf, that keeps what it receives."""

    def __init__(self, protocol: str) -> None:
        from opentelemetry.proto.collector.trace.v1 import trace_service_pb2

        self.requests: list[object] = []
        self.encodings: list[str | None] = []
        self._stop: Callable[[], None]
        if protocol == "grpc":
            from concurrent.futures import ThreadPoolExecutor

            import grpc
            from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc

            collector = self

            class Service(trace_service_pb2_grpc.TraceServiceServicer):
                def Export(self, request: object, context: object) -> object:
                    collector.requests.append(request)
                    return trace_service_pb2.ExportTraceServiceResponse()

            server = grpc.server(ThreadPoolExecutor(max_workers=2))
            trace_service_pb2_grpc.add_TraceServiceServicer_to_server(Service(), server)
            self.port = server.add_insecure_port("127.0.0.1:0")
            server.start()
            self._stop = lambda: server.stop(None)
        else:
            import http.server
            import threading

            collector = self

            class Handler(http.server.BaseHTTPRequestHandler):
                def do_POST(self) -> None:
                    body = self.rfile.read(int(self.headers["Content-Length"]))
                    collector.encodings.append(self.headers.get("Content-Encoding"))
                    collector.requests.append(trace_service_pb2.ExportTraceServiceRequest.FromString(body))
                    self.send_response(200)
                    self.send_header("Content-Type", "application/x-protobuf")
                    self.end_headers()
                    self.wfile.write(trace_service_pb2.ExportTraceServiceResponse().SerializeToString())

                def log_message(self, *args: object) -> None:
                    pass

            httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
            self.port = httpd.server_address[1]
            threading.Thread(target=httpd.serve_forever, daemon=True).start()

            def stop() -> None:
                httpd.shutdown()
                httpd.server_close()

            self._stop = stop

    def span_names(self) -> list[str]:
        return [
            span.name
            for request in self.requests
            for resource_spans in request.resource_spans
            for scope_spans in resource_spans.scope_spans
            for span in scope_spans.spans
        ]

    def stop(self) -> None:
        self._stop()


@pytest.mark.parametrize("protocol", ["grpc", "http/protobuf"])
@pytest.mark.parametrize("variable", ["OTEL_EXPORTER_OTLP_COMPRESSION", "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION"])
def test_an_unknown_compression_is_one_warning_and_spans_reach_the_collector_uncompressed(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, protocol: str, variable: str
) -> None:
    from lc_otel._export.configure import build_processor

    collector = _Collector(protocol)
    try:
        monkeypatch.setenv(variable, "zstd9")
        target = resolve_target(endpoint=f"http://127.0.0.1:{collector.port}", protocol=protocol)
        processor = build_processor(target, timeout=5, retry_after=0)
        assert processor is not None
        provider = TracerProvider()
        provider.add_span_processor(processor)
        provider.get_tracer("t").start_span("compressed?").end()
        assert provider.force_flush(10_000)
        assert collector.span_names() == ["compressed?"]
        if protocol == "http/protobuf":
            assert collector.encodings == [None]
        warnings = [r.getMessage() for r in caplog.records if r.name == "lc_otel"]
        assert warnings == [
            f"lc_otel: {variable}='zstd9' is not one of gzip, deflate, none; ignoring it (the default applies)"
        ]
        assert variable not in os.environ
        provider.shutdown()
    finally:
        collector.stop()


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "soon", "a positive number of seconds"),
        ("OTEL_EXPORTER_OTLP_TIMEOUT", "-3", "a positive number of seconds"),
        ("OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE", "/nonexistent/ca.pem", "a readable file"),
    ],
)
def test_other_bad_exporter_variables_are_one_warning_and_export_works(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, name: str, value: str, expected: str
) -> None:
    from lc_otel._export.configure import build_processor

    collector = _Collector("grpc")
    try:
        monkeypatch.setenv(name, value)
        processor = build_processor(resolve_target(endpoint=f"http://127.0.0.1:{collector.port}", protocol="grpc"))
        assert processor is not None
        provider = TracerProvider()
        provider.add_span_processor(processor)
        provider.get_tracer("t").start_span("through").end()
        assert provider.force_flush(10_000)
        assert collector.span_names() == ["through"]
        warnings = [r.getMessage() for r in caplog.records if r.name.startswith(("lc_otel", "opentelemetry"))]
        assert warnings == [f"lc_otel: {name}={value!r} is not {expected}; ignoring it (the default applies)"]
        provider.shutdown()
    finally:
        collector.stop()


@pytest.mark.parametrize("protocol", ["grpc", "http/protobuf"])
def test_endpoint_userinfo_is_never_logged(tmp_path: Path, protocol: str) -> None:
    code = """
        import logging, sys
        logging.basicConfig(level=logging.INFO, stream=sys.stderr)
        from opentelemetry import trace
        from lc_otel._export.configure import configure
        configure(endpoint=sys.argv[1] if len(sys.argv) > 1 else None)
        trace.get_tracer("t").start_span("s").end()
        trace.get_tracer_provider().force_flush()
    """
    endpoint = f"http://alice:s3cr3t-pw@127.0.0.1:{_dead_port()}"
    done, _ = _python(code, tmp_path, LC_OTEL_ENDPOINT=endpoint, LC_OTEL_PROTOCOL=protocol, LC_OTEL_EXPORT_TIMEOUT="1")
    assert done.returncode == 0, done.stderr
    assert "exporting spans to http://127.0.0.1:" in done.stderr
    assert "dropping spans for http://127.0.0.1:" in done.stderr  # the outage warning
    assert "s3cr3t-pw" not in done.stderr
    assert "alice" not in done.stderr


def test_without_userinfo_keeps_the_rest_of_the_url() -> None:
    from lc_otel._export.endpoints import without_userinfo

    assert without_userinfo("https://u:p@collector:4318/v1/traces") == "https://collector:4318/v1/traces"
    assert without_userinfo("u:p@collector:4317") == "collector:4317"
    assert without_userinfo("http://u:p@ss@collector:4317") == "http://collector:4317"
    assert without_userinfo("http://collector:4317") == "http://collector:4317"
    assert ExportTarget(protocol="grpc", endpoint="http://tok@h:4317").description == "http://h:4317"


def test_the_file_is_what_opentelemetrys_own_file_exporter_writes(tmp_path: Path) -> None:
    """The reference: opentelemetry-exporter-otlp-json-file (a test dependency) writes the same JSON."""
    from opentelemetry.exporter.otlp.json.file import FileSpanExporter
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from opentelemetry.trace import Link, SpanKind, Status, StatusCode

    from lc_otel._export.file import open_file_exporter

    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("scope", "2.0")
    attributes = {"n": 2**40, "x": [1.5, 2.5]}
    with tracer.start_as_current_span("root", kind=SpanKind.CLIENT, attributes=attributes) as root:  # noqa: SIM117
        with tracer.start_as_current_span("child", links=[Link(root.get_span_context(), {"k": "v"})]) as child:
            child.add_event("e", {"b": b"\x00\x01"})
            child.set_status(Status(StatusCode.ERROR, "bad"))
    spans = memory.get_finished_spans()
    ours, reference = tmp_path / "ours.jsonl", tmp_path / "reference.jsonl"
    open_file_exporter(ours).export(spans)
    reference_exporter = FileSpanExporter(str(reference))
    reference_exporter.export(spans)
    reference_exporter.shutdown()
    assert json.loads(ours.read_text()) == json.loads(reference.read_text())


@pytest.mark.parametrize("value", ["inf", "1e999", "garbage", "-1", "nan", "http://[::1", "(unclosed"])
def test_no_configuration_value_breaks_import_configure_instrument_or_a_chain(tmp_path: Path, value: str) -> None:
    """Every variable of the README's table set to a bad value: import, configure(), instrument() and a chain run."""
    table = set(
        re.findall(r"^\| `((?:LC_OTEL|OTEL)_[A-Z_]+)`", (ROOT / "README.md").read_text(encoding="utf-8"), re.MULTILINE)
    )
    assert "LC_OTEL_MAX_OPEN_RUNS" in table  # the table was found
    environ = {key: val for key, val in os.environ.items() if not key.startswith(("LC_OTEL_", "OTEL_"))}
    environ.update(dict.fromkeys(sorted(table), value))
    environ["LC_OTEL_EXPORT_FILE"] = str(tmp_path / "spans.jsonl")
    environ["LC_OTEL_SHUTDOWN_TIMEOUT"] = value if value in {"inf", "1e999"} else "1"
    code = (
        "import lc_otel\n"
        "from langchain_core.runnables import RunnableLambda\n"
        "lc_otel.configure()\n"
        "lc_otel.instrument()\n"
        "handler = lc_otel.OpenTelemetryCallbackHandler()\n"
        "print(RunnableLambda(lambda x: x + 1).invoke(1, {'callbacks': [handler]}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], env=environ, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "2"
    assert "Traceback" not in done.stderr

"""``lc-otel replay FILE``: a recorded OTLP-JSON-lines file, sent to a real (tiny, local) OTLP/HTTP receiver."""

from __future__ import annotations

import base64
import gzip
import io
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from google.protobuf.json_format import MessageToDict
from langchain_core.messages import HumanMessage
from langchain_core.tools import tool
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import Link, SpanKind, Status, StatusCode

from lc_otel import OpenTelemetryCallbackHandler
from lc_otel._cli.replay import replay, spans_of_line
from lc_otel._export.configure import resolve_target
from lc_otel._export.file import file_exporter
from lc_otel._settings import Settings
from lc_otel.cli import main
from lc_otel.testing import FakeChatModel, reply


class Receiver:
    """An OTLP/HTTP trace receiver on 127.0.0.1: it keeps every request it got, decoded, and answers 200."""

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.requests: list[ExportTraceServiceRequest] = []
        self.headers: list[dict[str, str]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                """Quiet."""

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                request = ExportTraceServiceRequest()
                request.ParseFromString(body)
                receiver.requests.append(request)
                receiver.headers.append({k.lower(): v for k, v in self.headers.items()} | {":path": self.path})
                self.send_response(receiver.status if self.path == "/v1/traces" else 404)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True)

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def spans(self) -> list[dict[str, Any]]:
        return [span for request in self.requests for span in _flatten(_as_otlp_json(request))]

    def __enter__(self) -> Receiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(5)


def _as_otlp_json(request: ExportTraceServiceRequest) -> dict[str, Any]:
    """The request in the OTLP/JSON file encoding (hex ids, enums as integers)."""
    data: dict[str, Any] = MessageToDict(request, use_integers_for_enums=True)
    for resource_spans in data.get("resourceSpans", []):
        for scope_spans in resource_spans.get("scopeSpans", []):
            for span in scope_spans.get("spans", []):
                for item in (span, *span.get("links", [])):
                    for key in ("traceId", "spanId", "parentSpanId"):
                        if key in item:
                            item[key] = base64.b64decode(item[key]).hex()
    return data


def _flatten(data: dict[str, Any]) -> list[dict[str, Any]]:
    """Every span with its resource and scope, comparable whatever the batching."""
    return [
        {"resource": rs.get("resource"), "scope": ss.get("scope"), "span": span}
        for rs in data.get("resourceSpans", [])
        for ss in rs.get("scopeSpans", [])
        for span in ss.get("spans", [])
    ]


def _file_spans(path: Path) -> list[dict[str, Any]]:
    return [span for line in path.read_text().splitlines() if line.strip() for span in _flatten(json.loads(line))]


@tool
def shout(text: str) -> str:
    """Shout."""
    return text.upper()


@tool
def broken(text: str) -> str:
    """Fail."""
    raise ValueError("no luck")


@pytest.fixture(name="recorded")
def _recorded(tmp_path: Path) -> Path:
    """A file as the embedded default writes it: a traced chat, tools (one failing) and a hand-made span."""
    path = tmp_path / "spans.jsonl"
    exporter = file_exporter(path)
    assert exporter is not None
    provider = TracerProvider(resource=Resource.create({"service.name": "replayed-app", "deployment": "test"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    handler = OpenTelemetryCallbackHandler(provider, settings=Settings(capture_content=True))
    FakeChatModel(responses=[reply("Hi!", input_tokens=12, output_tokens=2)]).invoke(
        [HumanMessage("Hello")], {"callbacks": [handler], "tags": ["production"]}
    )
    shout.invoke("hey", {"callbacks": [handler]})
    with pytest.raises(ValueError, match="no luck"):
        broken.invoke("x", {"callbacks": [handler]})
    tracer = provider.get_tracer("manual", "1.2.3")
    with tracer.start_as_current_span("linked.parent") as parent:
        other = parent.get_span_context()
    with tracer.start_as_current_span(
        "manual.span",
        kind=SpanKind.SERVER,
        links=[Link(other, {"why": "follows"})],
        attributes={"ints": (1, 2, 3), "ratio": 0.25, "flag": False},
    ) as span:
        span.add_event("checkpoint", {"step": 2})
        span.set_status(Status(StatusCode.OK))
    provider.shutdown()
    return path


def test_every_span_arrives_as_it_was_recorded(recorded: Path) -> None:
    with Receiver() as receiver:
        sent, skipped = replay(str(recorded), resolve_target(receiver.url, "http/protobuf"))

    assert (sent, skipped) == (5, 0)
    expected = sorted(_file_spans(recorded), key=lambda s: s["span"]["spanId"])
    arrived = sorted(receiver.spans(), key=lambda s: s["span"]["spanId"])
    assert len(expected) == 5
    assert arrived == expected  # ids, parents, times, kinds, attributes, events, links, status, resource, scope
    assert sorted(s["span"]["name"] for s in arrived) == [
        "chat fake-model-1",
        "execute_tool broken",
        "execute_tool shout",
        "linked.parent",
        "manual.span",
    ]
    failed = next(s["span"] for s in arrived if s["span"]["name"] == "execute_tool broken")
    assert failed["status"] == {"code": 2, "message": "ValueError: no luck"}


def test_the_command_uses_configures_endpoint_rules_and_says_what_it_sent(
    recorded: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with Receiver() as receiver:
        # A base URL from the standard variable gets /v1/traces, as configure() does; userinfo is never printed.
        user_url = receiver.url.replace("http://", "http://alice:s3cret@")
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", user_url)
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_HEADERS", "x-tenant=acme")
        assert main(["replay", str(recorded)]) == 0

    assert {h[":path"] for h in receiver.headers} == {"/v1/traces"}
    assert {h["x-tenant"] for h in receiver.headers} == {"acme"}
    assert len(receiver.spans()) == 5
    err = capsys.readouterr().err
    assert err == f"lc-otel: sent 5 spans from {recorded} to {receiver.url}/v1/traces (http/protobuf)\n"
    assert "s3cret" not in err


def test_a_large_file_gets_a_progress_line_and_corrupt_lines_are_skipped(recorded: Path, tmp_path: Path) -> None:
    big = tmp_path / "big.jsonl"
    line = recorded.read_text().splitlines()[0]
    with big.open("w") as handle:
        for number in range(200):
            handle.write("{not json\n" if number == 50 else line + "\n")
    stderr = io.StringIO()
    with Receiver() as receiver:
        sent, skipped = replay(str(big), resolve_target(receiver.url), stderr=stderr, progress_from_bytes=1)

    per_line = len(spans_of_line(json.loads(line)))
    assert (sent, skipped) == (199 * per_line, 1)
    assert len(receiver.spans()) == sent
    assert all(len(request.resource_spans[0].scope_spans[0].spans) <= 512 for request in receiver.requests)
    lines = stderr.getvalue().splitlines()
    (corrupt,) = [entry for entry in lines if "corrupt" in entry]
    assert corrupt.startswith(f"lc-otel: {big}:51: skipped a corrupt line: ")
    progress = [entry for entry in lines if entry != corrupt]
    assert all(entry.startswith("lc-otel replay: ") and " spans sent (" in entry for entry in progress)
    assert len(progress) == 10  # one line per tenth of the file when stderr is no terminal
    assert progress[-1].endswith("(100%)")


def test_a_byte_order_mark_and_an_overlong_line_are_read_as_traces_file_reads_them(
    recorded: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Saved by a Windows editor (a byte-order mark first), with one 5 MB line pasted in: the first line is
    # still read, the long one is skipped unread and reported, the rest is sent.
    first, *rest = recorded.read_bytes().splitlines(keepends=True)
    edited = tmp_path / "edited.jsonl"
    edited.write_bytes(b"\xef\xbb\xbf" + first + b"[" * 5_000_000 + b"\n" + b"".join(rest))
    with Receiver() as receiver:
        code = main(["replay", str(edited), "--endpoint", receiver.url, "--protocol", "http/protobuf",
                     "--max-bytes", "1M"])  # fmt: skip
    assert code == 0
    assert len(receiver.spans()) == len(_file_spans(recorded))
    err = capsys.readouterr().err.splitlines()
    assert err[0] == f"lc-otel: {edited}:2: skipped a corrupt line: longer than 1 MiB (--max-bytes), not read"
    assert err[-1].startswith(f"lc-otel: sent {len(_file_spans(recorded))} spans from {edited} to ")  # after progress


def test_a_refusing_or_missing_backend_is_one_line_and_exit_1(
    recorded: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with Receiver(status=400) as receiver:
        assert main(["replay", str(recorded), "--endpoint", receiver.url, "--protocol", "http/protobuf"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith(f"lc-otel: the OTLP backend at {receiver.url}/v1/traces did not accept the spans")

    for name in ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "LC_OTEL_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    assert main(["replay", str(recorded)]) == 1
    assert capsys.readouterr().err.startswith("lc-otel: no OTLP endpoint: give --endpoint URL")

    assert main(["replay", str(recorded.parent / "missing.jsonl"), "--endpoint", "http://127.0.0.1:4318"]) == 1
    assert (
        capsys.readouterr().err
        == f"lc-otel: cannot read {recorded.parent / 'missing.jsonl'}: No such file or directory\n"
    )


def test_a_file_without_spans_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_text('{"resourceSpans": []}\n\n')
    with Receiver() as receiver:
        assert main(["replay", str(empty), "--endpoint", receiver.url]) == 1
    assert capsys.readouterr().err == f"lc-otel: {empty} holds no spans to send\n"
    assert receiver.requests == []


def test_nothing_listening_is_one_line_at_once(recorded: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import socket

    with socket.socket() as placeholder:  # a port that was free a moment ago: nothing listens there
        placeholder.bind(("127.0.0.1", 0))
        port = placeholder.getsockname()[1]
    assert main(["replay", str(recorded), "--endpoint", f"http://127.0.0.1:{port}"]) == 1
    assert capsys.readouterr().err == (
        f"lc-otel: cannot reach the OTLP backend at http://127.0.0.1:{port}/v1/traces: Connection refused\n"
    )


@pytest.mark.parametrize("timeout", ["inf", "nan", "-1", "0", "1e999", "soon"])
def test_a_timeout_that_is_no_positive_number_of_seconds_is_refused(
    recorded: Path, capsys: pytest.CaptureFixture[str], timeout: str
) -> None:
    # inf or nan would reach the exporters as their deadline: a replay that never gives up.
    assert main(["replay", str(recorded), "--endpoint", "http://127.0.0.1:4318", "--timeout", timeout]) == 2
    err = capsys.readouterr().err
    assert err.startswith("lc-otel replay: error: argument --timeout: ")
    assert f"'{timeout}'" in err
    assert err.count("\n") == 1


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_on_a_terminal_the_progress_line_is_rewritten_in_place(recorded: Path) -> None:
    stderr = Terminal()
    with Receiver() as receiver:
        sent, _ = replay(str(recorded), resolve_target(receiver.url), stderr=stderr, progress_from_bytes=1)

    shown = stderr.getvalue()
    assert shown.startswith("\rlc-otel replay: ")
    assert "\n" not in shown  # one line, rewritten
    assert shown.endswith("\r\x1b[K")  # and cleared, so the summary starts on a clean line
    assert sent == 5

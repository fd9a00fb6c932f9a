"""Contract tests of the Jaeger search requests, over real HTTP against a recording server on 127.0.0.1.

The server answers with real Jaeger bodies (tests/fixtures/jaeger) and with the error bodies Jaeger's
handlers write (JSON sent as text/plain). The assertions pin what Jaeger's query parsers read: parameter
names, time units and formats, and the JSON map of string values for attribute filters.
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from lc_otel.cli import main

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "jaeger"
RFC3339_NANO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$")
NO_TRACES = (404, "text/plain; charset=utf-8", '{"error":{"httpCode":404,"message":"No traces found"}}\n')


def fixture_text(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


class Jaeger:
    """A recording HTTP server: ``routes`` maps a path to (status, content type, body)."""

    def __init__(self) -> None:
        self.routes: dict[str, tuple[int, str, str]] = {}
        self.requests: list[tuple[str, list[tuple[str, str]], str]] = []
        jaeger = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                jaeger.requests.append((parts.path, parse_qsl(parts.query, keep_blank_values=True), parts.query))
                status, ctype, body = jaeger.routes.get(parts.path, (404, "text/plain", "404 page not found\n"))
                data = body.encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    def params(self, index: int = -1) -> dict[str, str]:
        pairs = self.requests[index][1]
        assert len({k for k, _ in pairs}) == len(pairs), f"repeated parameter in {pairs}"
        return dict(pairs)


@pytest.fixture(name="jaeger")
def _jaeger() -> Iterator[Jaeger]:
    server = Jaeger()
    server.thread.start()
    yield server
    server.server.shutdown()
    server.server.server_close()


def _seconds(stamp: str) -> float:
    assert RFC3339_NANO.match(stamp), stamp
    return datetime.fromisoformat(stamp[:26].rstrip(".") + "+00:00").timestamp()


def test_v3_request_names_units_and_attribute_encoding(jaeger: Jaeger, capsys: pytest.CaptureFixture[str]) -> None:
    jaeger.routes["/api/v3/traces"] = NO_TRACES
    before = time.time()
    code = main(
        [
            "traces",
            "--jaeger",
            jaeger.url,
            "--service",
            "checkout",
            "--tag",
            "production",
            "--tag",
            "beta users",
            "--attr",
            "langchain.metadata.tenant=acme",
            "--attr",
            "gen_ai.usage.input_tokens=42",
            "--attr",
            "error=true",
            "--attr",
            "gen_ai.request.temperature=0.5",
            "--since",
            "2h",
            "--limit",
            "7",
        ]
    )
    after = time.time()
    assert code == 0
    out, err = capsys.readouterr()
    assert out == ""
    assert err == "lc-otel: no matching spans\n"
    assert [path for path, _, _ in jaeger.requests] == ["/api/v3/traces"]
    params = jaeger.params()
    assert set(params) == {
        "query.serviceName",
        "query.startTimeMin",
        "query.startTimeMax",
        "query.searchDepth",
        "query.attributes",
    }
    assert params["query.serviceName"] == "checkout"
    assert params["query.searchDepth"] == "7"
    start, end = _seconds(params["query.startTimeMin"]), _seconds(params["query.startTimeMax"])
    assert before - 1 <= end <= after + 1
    assert end - start == pytest.approx(7200, abs=0.01)
    # A JSON object of strings only: Jaeger unmarshals it into map[string]string and rejects other types.
    # The float filter is left to the client, because backends print floats differently.
    assert json.loads(params["query.attributes"]) == {
        "langchain.tag.production": "true",
        "langchain.tag.beta_users": "true",
        "langchain.metadata.tenant": "acme",
        "gen_ai.usage.input_tokens": "42",
        "error": "true",
    }
    # One query parameter, URL-encoded as a whole (no raw braces or quotes on the wire).
    raw = jaeger.requests[-1][2]
    assert "query.attributes=%7B%22" in raw


def test_v3_answer_is_drawn_as_a_tree(jaeger: Jaeger, capsys: pytest.CaptureFixture[str]) -> None:
    jaeger.routes["/api/v3/traces"] = (200, "application/json", fixture_text("FindTraces.json"))
    assert main(["traces", "--jaeger", jaeger.url]) == 0
    out, _ = capsys.readouterr()
    assert out == ("trace 00000000000000000000000000000001  1 span  ?  1 error\n└─ » foobar  ?  ERROR\n")
    params = jaeger.params()
    assert "query.attributes" not in params
    assert "query.serviceName" not in params
    assert params["query.searchDepth"] == "20"
    start, end = _seconds(params["query.startTimeMin"]), _seconds(params["query.startTimeMax"])
    assert end - start == pytest.approx(48 * 3600, abs=0.01)


def test_v3_multi_trace_answer_is_filtered_per_span_and_printed_as_json(
    jaeger: Jaeger, capsys: pytest.CaptureFixture[str]
) -> None:
    body = json.dumps({"result": json.loads(fixture_text("otel_traces_01.json"))})
    jaeger.routes["/api/v3/traces"] = (200, "application/json", body)
    code = main(["traces", "--jaeger", jaeger.url, "--service", "service-x", "--attr", "temperature=72.5", "--json"])
    assert code == 0
    out, _ = capsys.readouterr()
    result = json.loads(out)
    assert sorted(t["traceId"] for t in result["traces"]) == [
        "00000000000000010000000000000000",
        "00000000000000020000000000000000",
    ]
    spans = {s["spanId"]: s for t in result["traces"] for s in t["spans"]}
    assert set(spans) == {"0000000000000002", "0000000000000003", "0000000000000004", "0000000000000005"}
    assert all(s["matched"] for s in spans.values())
    assert spans["0000000000000003"]["kind"] == "CLIENT"
    assert spans["0000000000000003"]["status"] == {"code": "ERROR", "message": ""}
    assert spans["0000000000000003"]["attributes"]["peer.ipv4"] == 23456
    # A float filter is matched on the client only.
    assert "query.attributes" not in jaeger.params()

    # What Jaeger returns is checked again on the client: a near-miss value matches no span.
    assert main(["traces", "--jaeger", jaeger.url, "--attr", "temperature=72.4", "--json"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out) == {"traces": []}
    assert err == "lc-otel: no matching spans\n"


def test_old_v3_server_falls_back_to_v1_search(jaeger: Jaeger, capsys: pytest.CaptureFixture[str]) -> None:
    # Jaeger < 2.19 only knows the snake_case window names and answers camelCase with this 400.
    jaeger.routes["/api/v3/traces"] = (
        400,
        "text/plain; charset=utf-8",
        '{"error":{"httpCode":400,"message":"query.start_time_min and query.start_time_max are required"}}\n',
    )
    jaeger.routes["/api/traces"] = (200, "application/json", fixture_text("otlp2jaeger-out.json"))
    before_us = time.time_ns() // 1000
    code = main(
        ["traces", "--jaeger", jaeger.url, "--service", "telemetrygen", "--attr", "peer.service=telemetrygen-client"]
    )
    after_us = time.time_ns() // 1000
    assert code == 0
    assert [path for path, _, _ in jaeger.requests] == ["/api/v3/traces", "/api/traces"]
    params = jaeger.params()
    assert set(params) == {"service", "tags", "start", "end", "limit"}
    assert params["service"] == "telemetrygen"
    assert json.loads(params["tags"]) == {"peer.service": "telemetrygen-client"}
    assert params["limit"] == "20"
    # Unix epoch microseconds, plain integers.
    start, end = int(params["start"]), int(params["end"])
    assert before_us - 1_000_000 <= end <= after_us + 1_000_000
    assert end - start == 48 * 3600 * 1_000_000
    out, _ = capsys.readouterr()
    assert out == (
        "trace 83a9efd15c1c98a977e0711cc93ee28b  service telemetrygen  1 span  0.12 ms\n└─ » okey-dokey-0  0.12 ms\n"
    )


def test_v1_only_server_needs_a_service(jaeger: Jaeger, capsys: pytest.CaptureFixture[str]) -> None:
    # No v3 route at all: the catch-all answers a plain-text 404.
    assert main(["traces", "--jaeger", jaeger.url, "--tag", "production"]) == 1
    _, err = capsys.readouterr()
    assert err == "lc-otel: this Jaeger server only offers the v1 search API, which needs --service\n"
    assert [path for path, _, _ in jaeger.requests] == ["/api/v3/traces"]


def test_v1_no_match_is_an_empty_answer(jaeger: Jaeger, capsys: pytest.CaptureFixture[str]) -> None:
    jaeger.routes["/api/traces"] = (
        200,
        "application/json",
        '{"data":[],"total":0,"limit":0,"offset":0,"errors":null}',
    )
    assert main(["traces", "--jaeger", jaeger.url, "--service", "svc", "--tag", "production", "--json"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out) == {"traces": []}
    assert err == "lc-otel: no matching spans\n"
    assert json.loads(jaeger.params()["tags"]) == {"langchain.tag.production": "true"}


@pytest.mark.parametrize(
    ("status", "body", "message"),
    [
        (
            400,
            '{"error":{"httpCode":400,"message":"malformed parameter query.attributes: bad"}}\n',
            "refused the search (HTTP 400): malformed parameter query.attributes: bad",
        ),
        (
            500,
            '{"error":{"httpCode":500,"message":"search depth must be greater than 0 and less than max traces"}}\n',
            "refused the search (HTTP 500): search depth must be greater than 0 and less than max traces",
        ),
        (502, "<html>bad gateway</html>", "refused the search (HTTP 502): <html>bad gateway</html>"),
    ],
)
def test_server_errors_are_one_line(
    jaeger: Jaeger, capsys: pytest.CaptureFixture[str], status: int, body: str, message: str
) -> None:
    jaeger.routes["/api/v3/traces"] = (status, "text/plain; charset=utf-8", body)
    assert main(["traces", "--jaeger", jaeger.url]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err == f"lc-otel: Jaeger at {jaeger.url} {message}\n"


def test_v1_error_envelope_is_reported(jaeger: Jaeger, capsys: pytest.CaptureFixture[str]) -> None:
    jaeger.routes["/api/traces"] = (
        400,
        "text/plain; charset=utf-8",
        '{"data":null,"total":0,"limit":0,"offset":0,'
        '"errors":[{"code":400,"msg":"parameter \'service\' is required"}]}\n',
    )
    assert main(["traces", "--jaeger", jaeger.url, "--service", "x"]) == 1
    _, err = capsys.readouterr()
    assert err == f"lc-otel: Jaeger at {jaeger.url} refused the search (HTTP 400): parameter 'service' is required\n"


def test_unreachable_server_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    assert main(["traces", "--jaeger", f"http://127.0.0.1:{port}"]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith(f"lc-otel: cannot reach Jaeger at http://127.0.0.1:{port}: ")
    assert err.count("\n") == 1
    assert "Traceback" not in err

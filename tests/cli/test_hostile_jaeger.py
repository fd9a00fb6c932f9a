"""`lc-otel traces --jaeger` against servers that misbehave: every outcome is one line on stderr and exit 1.

The servers are real sockets on 127.0.0.1 (tests/cli/servers.py) that stop by themselves. Where the defect
was a hang, the test bounds the time generously (the fix answers in a fraction of the bound).
"""

from __future__ import annotations

import base64
import json
import re
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from lc_otel.cli import main
from tests.cli.servers import Connection, RawServer, answer

MiB = 1024 * 1024
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "jaeger"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str, float]:
    start = time.monotonic()
    code = main(["traces", *args])
    elapsed = time.monotonic() - start
    out, err = capsys.readouterr()
    return code, out, err, elapsed


def one_line_error(code: int, out: str, err: str) -> str:
    """The error line, after checking it is alone, printable and the exit status 1."""
    assert (code, out) == (1, "")
    assert err.count("\n") == 1, err
    assert err.startswith("lc-otel: ")
    assert "Traceback" not in err
    line = err.rstrip("\n")
    assert line.isprintable(), line
    return line


# --- broken HTTP ---------------------------------------------------------------------------------------------


def test_truncated_body_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    with RawServer(answer("200 OK", {}, b'{"result": {"resourceSpans": [', length=500)) as server:
        line = one_line_error(*run(capsys, "--jaeger", server.url)[:3])
    assert line == f"lc-otel: the answer from Jaeger at {server.url} broke off after 30 of 500 bytes"


def test_truncated_chunked_body_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    def script(conn: Connection) -> None:
        conn.read_request()
        conn.send(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n400\r\n" + b"{" * 10)

    with RawServer(script) as server:
        line = one_line_error(*run(capsys, "--jaeger", server.url)[:3])
    assert line == f"lc-otel: the answer from Jaeger at {server.url} broke off before its end"


def test_bad_status_line_is_one_line_and_escaped(capsys: pytest.CaptureFixture[str]) -> None:
    with RawServer(answer("\x1b]0;PWNED\x07\x1b[2J", {}, b"")) as server:
        line = one_line_error(*run(capsys, "--jaeger", server.url)[:3])
    assert line.startswith(f"lc-otel: Jaeger at {server.url} sent a malformed HTTP answer (BadStatusLine: ")
    assert "\\x1b]0;PWNED\\x07\\x1b[2J" in line


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({"X-Big": "a" * 100_000}, "LineTooLong: got more than 65536 bytes when reading header line"),
        ({f"X-H{i}": "a" for i in range(150)}, "HTTPException: got more than 100 headers"),
    ],
)
def test_overlong_headers_are_one_line(
    capsys: pytest.CaptureFixture[str], headers: dict[str, str], reason: str
) -> None:
    with RawServer(answer("200 OK", headers, b"{}")) as server:
        line = one_line_error(*run(capsys, "--jaeger", server.url)[:3])
    assert line == f"lc-otel: Jaeger at {server.url} sent a malformed HTTP answer ({reason})"


def test_connection_closed_without_an_answer(capsys: pytest.CaptureFixture[str]) -> None:
    with RawServer(lambda conn: conn.read_request() and None) as server:
        line = one_line_error(*run(capsys, "--jaeger", server.url)[:3])
    assert line == f"lc-otel: Jaeger at {server.url} closed the connection without answering"


# --- time and size bounds ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "head",
    [
        b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n",  # the head at once, then the body drips
        b"",  # the status line drips
    ],
    ids=["body", "status-line"],
)
def test_a_server_dripping_a_byte_every_two_seconds_meets_the_deadline(
    capsys: pytest.CaptureFixture[str], head: bytes
) -> None:
    def script(conn: Connection) -> None:
        conn.read_request()
        conn.send(head)  # the head at once, then the drip
        for byte in b"x" * 1000:
            if not conn.send(bytes([byte])) or not conn.pause(2.0):
                return

    with RawServer(script) as server:
        code, out, err, elapsed = run(capsys, "--jaeger", server.url, "--timeout", "2")
    line = one_line_error(code, out, err)
    assert line == f"lc-otel: no complete answer from Jaeger at {server.url} within 2 s (--timeout)"
    assert elapsed < 10  # was: still hanging after 45 s


def test_the_deadline_covers_a_dripping_tls_handshake(capsys: pytest.CaptureFixture[str]) -> None:
    """A per-read timeout cannot end a handshake either: each byte arrives in time."""

    def script(conn: Connection) -> None:
        for byte in b"\x16\x03\x03\x00\x40" + b"x" * 100:  # the start of a TLS record, a byte every 2 s
            if not conn.send(bytes([byte])) or not conn.pause(2.0):
                return

    with RawServer(script) as server:
        url = server.url.replace("http://", "https://")
        code, out, err, elapsed = run(capsys, "--jaeger", url, "--timeout", "2")
    line = one_line_error(code, out, err)
    assert line == f"lc-otel: no complete answer from Jaeger at {url} within 2 s (--timeout)"
    assert elapsed < 10


def test_the_deadline_covers_the_whole_search(capsys: pytest.CaptureFixture[str]) -> None:
    """The v1 fallback shares the deadline of the v3 request, it does not get one of its own."""

    def script(conn: Connection) -> None:
        request = conn.read_request()
        if b"/api/v3/" in request:
            conn.pause(1.2)  # slow, but within the deadline
            conn.send(b"HTTP/1.1 404 Not Found\r\nContent-Length: 19\r\n\r\n404 page not found\n")
        else:
            conn.pause(5.0)

    with RawServer(script) as server:
        code, out, err, elapsed = run(capsys, "--jaeger", server.url, "--service", "s", "--timeout", "2")
    line = one_line_error(code, out, err)
    assert line == f"lc-otel: no complete answer from Jaeger at {server.url} within 2 s (--timeout)"
    assert server.connections == 2
    assert elapsed < 4


def test_the_deadline_covers_a_name_lookup_that_hangs(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A dead DNS server holds getaddrinfo for its own retries; --timeout still ends the search on time."""
    release = threading.Event()
    lookups: list[str] = []
    real_getaddrinfo = socket.getaddrinfo

    def hanging_getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host == "jaeger.slow-dns.test":
            lookups.append(host)
            release.wait(60)
            raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", hanging_getaddrinfo)
    try:
        code, out, err, elapsed = run(capsys, "--jaeger", "http://jaeger.slow-dns.test:16686", "--timeout", "1")
    finally:
        release.set()  # let the abandoned lookup thread finish
    line = one_line_error(code, out, err)
    assert line == "lc-otel: no complete answer from Jaeger at http://jaeger.slow-dns.test:16686 within 1 s (--timeout)"
    assert lookups == ["jaeger.slow-dns.test"]
    assert elapsed < 10  # was: as long as the resolver took (here 60 s)


def test_a_name_that_does_not_resolve_is_one_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def unknown(host: Any, *args: Any, **kwargs: Any) -> Any:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", unknown)
    line = one_line_error(*run(capsys, "--jaeger", "http://no-such-host.test:16686", "--timeout", "5")[:3])
    assert line == "lc-otel: cannot reach Jaeger at http://no-such-host.test:16686: Name or service not known"


def test_an_endless_body_stops_at_the_byte_cap(capsys: pytest.CaptureFixture[str]) -> None:
    def script(conn: Connection) -> None:
        conn.read_request()
        conn.send(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n")
        block = b"[" * 65536
        # At most 1.5 GB, sent until the client hangs up.
        for _ in range(1536 * 16):
            if not conn.send(block):
                return

    with RawServer(script) as server:
        code, out, err, elapsed = run(capsys, "--jaeger", server.url, "--max-bytes", "2M")
        line = one_line_error(code, out, err)
        sent = server.bytes_sent
    assert line == f"lc-otel: the answer from Jaeger at {server.url} is larger than 2 MiB (--max-bytes)"
    # What the client read (2 MiB and a byte), plus what the kernel's socket buffers held when it hung up.
    assert sent < 2 * MiB + 32 * MiB
    assert elapsed < 10


def test_a_declared_body_over_the_default_cap_is_not_read(capsys: pytest.CaptureFixture[str]) -> None:
    def script(conn: Connection) -> None:
        conn.read_request()
        conn.send(b"HTTP/1.1 200 OK\r\nContent-Length: 1610612736\r\n\r\n")
        while conn.send(b"{" * 65536):
            pass

    with RawServer(script) as server:
        line = one_line_error(*run(capsys, "--jaeger", server.url)[:3])
        sent = server.bytes_sent
    assert line == f"lc-otel: the answer from Jaeger at {server.url} is larger than 64 MiB (--max-bytes)"
    assert sent < 32 * MiB


def test_a_50_mb_error_message_is_cut_to_a_line(capsys: pytest.CaptureFixture[str]) -> None:
    message = "\x1b[2Jdisk full\n" + "A" * 50_000_000
    body = json.dumps({"error": {"httpCode": 500, "message": message}}).encode()
    with RawServer(answer("500 Internal Server Error", {"Content-Type": "text/plain"}, body)) as server:
        line = one_line_error(*run(capsys, "--jaeger", server.url)[:3])
    prefix = f"lc-otel: Jaeger at {server.url} refused the search (HTTP 500): \\x1b[2Jdisk full\\nAAA"
    assert line.startswith(prefix)
    assert re.search(r"A\.\.\. \(50,000,0\d\d characters\)$", line), line[-80:]
    assert len(line) < len(prefix) + 250


def test_a_50_mb_html_error_page_is_cut_to_a_line(capsys: pytest.CaptureFixture[str]) -> None:
    body = b"<html>" + b"B" * 50_000_000 + b"</html>\n<p>second line</p>"
    with RawServer(answer("502 Bad Gateway", {"Content-Type": "text/html"}, body)) as server:
        line = one_line_error(*run(capsys, "--jaeger", server.url)[:3])
    assert line == f"lc-otel: Jaeger at {server.url} refused the search (HTTP 502): <html>{'B' * 194}..."


# --- redirects and credentials -------------------------------------------------------------------------------


class _Redirecting:
    """A real HTTP server whose routes answer redirects or JSON, recording each request's path and auth."""

    def __init__(self) -> None:
        self.routes: dict[str, tuple[int, dict[str, str], str]] = {}
        self.seen: list[tuple[str, str | None]] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = self.path.split("?")[0]
                owner.seen.append((path, self.headers.get("Authorization")))
                status, headers, body = owner.routes.get(path, (404, {}, "404 page not found\n"))
                data = body.encode()
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)


@pytest.fixture(name="web")
def _web() -> Iterator[_Redirecting]:
    web = _Redirecting()
    web.thread.start()
    yield web
    web.server.shutdown()
    web.server.server_close()


FOUND = (200, {"Content-Type": "application/json"}, (FIXTURES / "FindTraces.json").read_text(encoding="utf-8"))


def test_a_redirect_to_another_host_is_not_followed(web: _Redirecting, capsys: pytest.CaptureFixture[str]) -> None:
    web.routes["/api/v3/traces"] = (302, {"Location": "http://attacker.invalid:9/api/v3/traces?x=1"}, "")
    line = one_line_error(*run(capsys, "--jaeger", web.url)[:3])
    assert line == (
        f"lc-otel: Jaeger at {web.url} redirects to another host (http://attacker.invalid:9/api/v3/traces?x=1); "
        "redirects to other hosts are not followed"
    )
    assert [path for path, _ in web.seen] == ["/api/v3/traces"]


def test_a_same_host_redirect_is_followed_with_the_credentials(
    web: _Redirecting, capsys: pytest.CaptureFixture[str]
) -> None:
    web.routes["/api/v3/traces"] = (307, {"Location": "/jaeger/api/v3/traces"}, "")
    web.routes["/jaeger/api/v3/traces"] = FOUND
    url = f"http://ann:p%40ss@127.0.0.1:{web.port}"
    code, out, err, _ = run(capsys, "--jaeger", url)
    assert (code, err) == (0, "")
    assert out == "trace 00000000000000000000000000000001  1 span  ?  1 error\n└─ » foobar  ?  ERROR\n"
    basic = "Basic " + base64.b64encode(b"ann:p@ss").decode()
    assert web.seen == [("/api/v3/traces", basic), ("/jaeger/api/v3/traces", basic)]


def test_a_redirect_loop_ends(web: _Redirecting, capsys: pytest.CaptureFixture[str]) -> None:
    web.routes["/api/v3/traces"] = (302, {"Location": "/api/v3/traces"}, "")
    line = one_line_error(*run(capsys, "--jaeger", web.url)[:3])
    assert line == f"lc-otel: Jaeger at {web.url} redirects more than 3 times, or nowhere (HTTP 302)"
    assert len(web.seen) == 4


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_credentials_are_never_printed(scheme: str, capsys: pytest.CaptureFixture[str]) -> None:
    port = _closed_port()
    line = one_line_error(*run(capsys, "--jaeger", f"{scheme}://user:hunter2@127.0.0.1:{port}")[:3])
    assert line.startswith(f"lc-otel: cannot reach Jaeger at {scheme}://127.0.0.1:{port}: ")
    assert "hunter2" not in line
    assert "user" not in line


def test_credentials_are_not_printed_in_a_refusal(web: _Redirecting, capsys: pytest.CaptureFixture[str]) -> None:
    web.routes["/api/v3/traces"] = (401, {}, "unauthorized\n")
    line = one_line_error(*run(capsys, "--jaeger", f"http://user:hunter2@127.0.0.1:{web.port}/")[:3])
    assert line == f"lc-otel: Jaeger at http://127.0.0.1:{web.port} refused the search (HTTP 401): unauthorized"


def test_credentials_in_the_environment_are_not_printed(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    port = _closed_port()
    monkeypatch.setenv("LC_OTEL_JAEGER_URL", f"http://user:hunter2@127.0.0.1:{port}")
    line = one_line_error(*run(capsys)[:3])
    assert line.startswith(f"lc-otel: cannot reach Jaeger at http://127.0.0.1:{port}: ")


# --- what the server says ------------------------------------------------------------------------------------


def test_control_characters_in_server_messages_are_escaped(
    web: _Redirecting, capsys: pytest.CaptureFixture[str]
) -> None:
    message = "bad \x1b]0;PWNED\x07 query\x9b2J\u202egnp.exe\nline two"
    web.routes["/api/v3/traces"] = (400, {}, json.dumps({"error": {"httpCode": 400, "message": message}}))
    line = one_line_error(*run(capsys, "--jaeger", web.url)[:3])
    assert line == (
        f"lc-otel: Jaeger at {web.url} refused the search (HTTP 400): "
        "bad \\x1b]0;PWNED\\x07 query\\x9b2J\\u202egnp.exe\\nline two"
    )


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ('{"result": {"resourceSpans": "x"}}', "'resourceSpans' is not a list"),
        ('{"result": ' + "[" * 5000 + "]" * 5000 + "}", None),
        (
            '{"result": {"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "01", "spanId": "02", '
            '"startTimeUnixNano": 1e400}]}]}]}}',
            "startTimeUnixNano is not an integer: inf",
        ),
        (
            '{"result": {"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "01", "spanId": "02", '
            '"attributes": [{"key": "k", "value": {"doubleValue": "abc"}}]}]}]}]}}',
            "doubleValue is not a number: 'abc'",
        ),
    ],
    ids=["shape", "deep", "time", "double"],
)
def test_answers_that_are_not_traces_are_one_line(
    web: _Redirecting, capsys: pytest.CaptureFixture[str], body: str, reason: str | None
) -> None:
    web.routes["/api/v3/traces"] = (200, {"Content-Type": "application/json"}, body)
    line = one_line_error(*run(capsys, "--jaeger", web.url)[:3])
    assert line.startswith(f"lc-otel: unexpected answer from {web.url}")
    if reason is not None:
        assert line == f"lc-otel: unexpected answer from {web.url}/api/v3/traces: {reason}"


def test_a_v1_answer_of_the_wrong_shape_is_one_line(web: _Redirecting, capsys: pytest.CaptureFixture[str]) -> None:
    web.routes["/api/traces"] = (200, {}, '{"data": [{"spans": [], "processes": ["not", "a", "map"]}]}')
    line = one_line_error(*run(capsys, "--jaeger", web.url, "--service", "s")[:3])
    assert line == f"lc-otel: unexpected answer from {web.url}/api/traces: 'processes' is not an object"


# --- arguments -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--jaeger", "ftp://user:pw@host"], "argument --jaeger: not an http(s) URL: 'ftp://host'"),
        (["--jaeger", "http://user:pw@host:99999"], "argument --jaeger: not a valid URL: 'http://host:99999'"),
        (["--jaeger", "http://ho st"], "argument --jaeger: not a URL (it holds spaces or control characters)"),
        (
            ["--jaeger", "http://x\x1b[2J"],
            "argument --jaeger: not a URL (it holds spaces or control characters): 'http://x\\x1b[2J'",
        ),
        (["--jaeger", "localhost:16686"], "argument --jaeger: not an http(s) URL: 'localhost:16686'"),
        (["--timeout", "0"], "argument --timeout: must be a positive number of seconds: '0'"),
        (["--timeout", "nan"], "argument --timeout: must be a positive number of seconds: 'nan'"),
        (["--timeout", "soon"], "argument --timeout: not a number of seconds: 'soon'"),
        (["--max-bytes", "lots"], "argument --max-bytes: not a size: 'lots'"),
        (["--max-bytes", "0"], "argument --max-bytes: size must be at least one byte: '0'"),
    ],
)
def test_bad_arguments_exit_2_in_one_line(capsys: pytest.CaptureFixture[str], args: list[str], message: str) -> None:
    code, out, err, _ = run(capsys, *args)
    assert (code, out) == (2, "")
    assert err.count("\n") == 1
    assert err.startswith(f"lc-otel traces: error: {message}")
    assert "pw" not in err
    assert err.rstrip("\n").isprintable()


def test_a_bad_url_in_the_environment_exits_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LC_OTEL_JAEGER_URL", "gopher://user:pw@host")
    code, out, err, _ = run(capsys)
    assert (code, out) == (2, "")
    assert err == (
        "lc-otel: LC_OTEL_JAEGER_URL: not an http(s) URL: 'gopher://host' (expected e.g. http://localhost:16686)\n"
    )

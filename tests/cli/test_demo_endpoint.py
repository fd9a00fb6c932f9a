"""`lc-otel demo --endpoint`: a bad URL is one line and exit 2, and credentials in the URL are never printed."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from lc_otel.cli import main


@pytest.mark.parametrize(
    ("endpoint", "message"),
    [
        ("ftp://user:hunter2@collector:4317", "not an http(s) URL: 'ftp://collector:4317'"),
        ("http://user:hunter2@collector:99999", "not a valid URL: 'http://collector:99999'"),
        ("http://[::1", "not a valid URL: 'http://[::1'"),
        ("http://user:hunter2@", "no host in URL: 'http://'"),
        ("user:hunter2@collector:43x7", "not a valid URL: 'collector:43x7'"),
        ("http://coll ector:4317", "not a URL (it holds spaces or control characters): 'http://coll ector:4317'"),
        ("http://x\x1b]0;PWNED\x07", "not a URL (it holds spaces or control characters): 'http://x\\x1b]0;PWNED\\x07'"),
    ],
)
def test_a_bad_endpoint_is_one_line_and_exit_2(
    clean_env: Path, capsys: pytest.CaptureFixture[str], endpoint: str, message: str
) -> None:
    assert main(["demo", "--endpoint", endpoint]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err == (
        f"lc-otel demo: error: argument --endpoint: {message} (expected e.g. http://localhost:4317) (see --help)\n"
    )
    assert not clean_env.exists()


@pytest.mark.parametrize("endpoint", ["collector:4318", "http://user:pw@collector:4318/"])
def test_good_endpoints_pass_the_argument_check(endpoint: str) -> None:
    from lc_otel.cli import build_parser

    assert build_parser().parse_args(["demo", "--endpoint", endpoint]).endpoint == endpoint


def test_credentials_of_an_unreachable_endpoint_are_not_printed(
    clean_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    endpoint = f"http://user:hunter2@127.0.0.1:{port}"
    assert main(["demo", "--endpoint", endpoint, "--protocol", "http/protobuf"]) == 1
    out, err = capsys.readouterr()
    assert "└─ office-assistant  " in out  # the trace is still shown
    assert err == f"lc-otel: could not export the spans to http://127.0.0.1:{port}/v1/traces (OTLP http/protobuf)\n"
    assert "hunter2" not in out + err


def test_demo_resolves_the_endpoint_like_configure(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``lc-otel demo`` honours LC_OTEL_ENDPOINT and picks the protocol by configure()'s rule (4317 is gRPC)."""
    from lc_otel._cli.demo import resolve_protocol
    from lc_otel._export.configure import resolve_target

    assert resolve_protocol("http://localhost:4317", None) == "grpc"
    assert resolve_protocol("http://localhost:4318", None) == "http/protobuf"
    assert resolve_protocol("http://collector:55681", None) == "http/protobuf"
    monkeypatch.setenv("LC_OTEL_ENDPOINT", "http://localhost:4317")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_HEADERS", "authorization=Bearer%20t")
    target = resolve_target(None, None)
    assert (target.protocol, target.endpoint) == ("grpc", "http://localhost:4317")
    assert target.headers == {"authorization": "Bearer t"}

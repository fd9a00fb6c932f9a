"""`lc-otel demo` end to end: run it, then read back the file it wrote with `lc-otel traces --file`."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from lc_otel.cli import main

EXPECTED_TREE = [
    (
        "office-assistant",
        [
            ("retrieval handbook", []),
            ("plan", [("ChatPromptTemplate", []), ("chat scripted-chat-1", [])]),
            ("execute_tool get_weather", []),
            ("execute_tool order_status", []),
            ("answer", [("ChatPromptTemplate", []), ("chat scripted-chat-1", [])]),
        ],
    )
]


def traces_json(capsys: pytest.CaptureFixture[str], *args: str) -> list[dict[str, Any]]:
    capsys.readouterr()
    assert main(["traces", *args, "--json"]) == 0
    traces: list[dict[str, Any]] = json.loads(capsys.readouterr().out)["traces"]
    return traces


def tree(spans: list[dict[str, Any]]) -> list[tuple[str, list[Any]]]:
    def children(parent: str | None) -> list[tuple[str, list[Any]]]:
        return [(s["name"], children(s["spanId"])) for s in spans if s["parentSpanId"] == parent]

    return children(None)


def test_demo_writes_a_file_that_traces_reads_back(clean_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--tag", "production"]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert "\x1b[" not in out  # not a terminal: no colour
    assert "└─ office-assistant  " in out
    assert "execute_tool order_status  " in out
    assert "ERROR ConnectionError: order service unavailable" in out
    assert f"Spans written to {clean_env} (OTLP JSON lines)." in out

    traces = traces_json(capsys, "--file", str(clean_env))
    assert len(traces) == 1
    spans = traces[0]["spans"]
    assert len(spans) == 10
    assert tree(spans) == EXPECTED_TREE
    assert {s["traceId"] for s in spans} == {traces[0]["traceId"]}
    assert {s["service"] for s in spans} == {"lc-otel-demo"}
    by_name: dict[str, list[dict[str, Any]]] = {}
    for span in spans:
        by_name.setdefault(span["name"], []).append(span)

    root = by_name["office-assistant"][0]
    assert root["attributes"]["langchain.tags"] == ["demo", "production"]
    assert root["attributes"]["langchain.tag.production"] is True
    assert root["attributes"]["langchain.usage.input_tokens"] == 86 + 142
    assert root["attributes"]["langchain.usage.output_tokens"] == 31 + 24

    chats = by_name["chat scripted-chat-1"]
    assert [
        (c["attributes"]["gen_ai.usage.input_tokens"], c["attributes"]["gen_ai.usage.output_tokens"]) for c in chats
    ] == [
        (86, 31),
        (142, 24),
    ]
    assert all(c["kind"] == "CLIENT" for c in chats)
    streamed = chats[1]["attributes"]
    assert streamed["langchain.stream.chunk_count"] >= 10

    failing = by_name["execute_tool order_status"][0]
    assert failing["status"] == {
        "code": "ERROR",
        "message": "ConnectionError: order service unavailable while looking up 4711",
    }
    assert failing["attributes"]["error.type"] == "ConnectionError"
    assert failing["attributes"]["gen_ai.tool.call.id"] == "call_order_1"
    assert [s["status"]["code"] for s in spans if s is not failing] == ["UNSET"] * 9

    retrieval = by_name["retrieval handbook"][0]
    assert retrieval["attributes"]["langchain.retriever.document_count"] == 2


def test_traces_queries_on_the_demo_file(clean_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--tag", "production", "--tag", "eu west"]) == 0

    tagged = traces_json(capsys, "--file", str(clean_env), "--tag", "eu west", "--since", "1h")
    assert len(tagged) == 1
    assert all(s["matched"] for s in tagged[0]["spans"])

    assert traces_json(capsys, "--file", str(clean_env), "--tag", "staging") == []

    failed = traces_json(capsys, "--file", str(clean_env), "--attr", "error=true")
    assert [s["name"] for s in failed[0]["spans"] if s["matched"]] == ["execute_tool order_status"]
    assert len(failed[0]["spans"]) == 10  # printed within its whole trace

    by_tokens = traces_json(capsys, "--file", str(clean_env), "--attr", "gen_ai.usage.input_tokens=142")
    matched = [s for s in by_tokens[0]["spans"] if s["matched"]]
    assert [(s["name"], s["parentSpanId"]) for s in matched] == [
        ("chat scripted-chat-1", next(s["spanId"] for s in by_tokens[0]["spans"] if s["name"] == "answer"))
    ]
    # Array attributes match on any element; a wrong service matches nothing.
    assert traces_json(capsys, "--file", str(clean_env), "--attr", "langchain.tags=production") != []
    assert traces_json(capsys, "--file", str(clean_env), "--service", "other", "--tag", "production") == []

    capsys.readouterr()
    assert main(["traces", "--file", str(clean_env), "--attr", "gen_ai.tool.name=get_weather"]) == 0
    text = capsys.readouterr().out.splitlines()
    assert text[0].startswith("trace ")
    assert "service lc-otel-demo  10 spans" in text[0]
    assert "1 error" in text[0]
    assert text[6].startswith("   ├─ » execute_tool get_weather  ")
    assert text[7].startswith("   ├─ execute_tool order_status  ")
    assert "  ERROR ConnectionError" in text[7]
    assert text[1].startswith("└─ office-assistant  ")
    assert "tokens 228→55" in text[1]


def test_demo_appends_runs_and_limit_keeps_the_newest(clean_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo"]) == 0
    assert main(["demo", "--tag", "second"]) == 0
    both = traces_json(capsys, "--file", str(clean_env), "--tag", "demo")
    assert len(both) == 2
    newest = traces_json(capsys, "--file", str(clean_env), "--tag", "demo", "--limit", "1")
    assert [t["traceId"] for t in newest] == [both[0]["traceId"]]
    assert newest[0]["spans"][0]["attributes"]["langchain.tags"] == ["demo", "second"]


def test_demo_as_a_subprocess_writes_the_default_file(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "LC_OTEL_"))}
    env["NO_COLOR"] = "1"
    done = subprocess.run(
        [sys.executable, "-m", "lc_otel", "demo"],
        cwd=tmp_path,
        env=env,
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert "Find them again: lc-otel traces --file lc-otel-spans.jsonl --tag demo" in done.stdout
    lines = (tmp_path / "lc-otel-spans.jsonl").read_text(encoding="utf-8").splitlines()
    assert all("resourceSpans" in json.loads(line) for line in lines)
    read = subprocess.run(
        [sys.executable, "-m", "lc_otel", "traces", "--file", "lc-otel-spans.jsonl", "--tag", "demo", "--json"],
        cwd=tmp_path,
        env=env,
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert read.returncode == 0, read.stderr
    (trace,) = json.loads(read.stdout)["traces"]
    assert tree(trace["spans"]) == EXPECTED_TREE


def test_demo_reports_an_unreachable_endpoint_in_one_line(clean_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    endpoint = f"http://127.0.0.1:{port}"
    assert main(["demo", "--endpoint", endpoint, "--protocol", "http/protobuf"]) == 1
    out, err = capsys.readouterr()
    assert "└─ office-assistant  " in out  # the trace is still shown
    assert err == f"lc-otel: could not export the spans to {endpoint}/v1/traces (OTLP http/protobuf)\n"
    assert not clean_env.exists()


def test_demo_cannot_write_its_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", raising=False)
    monkeypatch.setenv("LC_OTEL_EXPORT_FILE", str(tmp_path / "missing-dir" / "spans.jsonl"))
    assert main(["demo"]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert (
        err == f"lc-otel: cannot write spans to {tmp_path / 'missing-dir' / 'spans.jsonl'}: No such file or directory\n"
    )


def test_an_exporter_that_raises_is_a_failed_export() -> None:
    # opentelemetry-exporter-otlp 1.27 raises on a refused connection instead of returning FAILURE: the demo
    # must still say the spans did not arrive (it printed "Spans exported" and exited 0).
    from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

    from lc_otel._cli.demo import _RecordingExporter

    class Refused(SpanExporter):
        def export(self, spans: Any) -> SpanExportResult:
            raise ConnectionError("Connection refused")

    recording = _RecordingExporter(Refused())
    assert recording.export([]) is SpanExportResult.FAILURE
    assert recording.failed

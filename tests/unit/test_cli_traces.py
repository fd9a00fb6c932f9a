"""`lc-otel traces` on local files, argument errors, and how trees are drawn (colour, ASCII)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from opentelemetry.exporter.otlp.json.file import FileSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import Status, StatusCode

from lc_otel._cli.traces.otlp_json import parse_traces_data
from lc_otel._cli.traces.tree import write_traces
from lc_otel.cli import main


def write_spans(path: Path) -> None:
    """Two traces written by the real OTLP JSON file exporter: a tagged chain with a failing tool, and another."""
    provider = TracerProvider(resource=Resource.create({"service.name": "svc-a"}))
    provider.add_span_processor(SimpleSpanProcessor(FileSpanExporter(path)))
    tracer = provider.get_tracer("test")
    with tracer.start_as_current_span("chain", attributes={"langchain.tag.prod": True, "langchain.tags": ["prod"]}):
        with tracer.start_as_current_span(
            "chat m", attributes={"gen_ai.usage.input_tokens": 5, "gen_ai.usage.output_tokens": 2, "temp": 0.5}
        ):
            pass
        with tracer.start_as_current_span("execute_tool t") as tool:
            tool.set_status(Status(StatusCode.ERROR, "ValueError: no"))
    with tracer.start_as_current_span("other", attributes={"langchain.metadata.user": "007"}):
        pass
    provider.shutdown()


@pytest.fixture(name="spans_file")
def _spans_file(tmp_path: Path) -> Path:
    path = tmp_path / "spans.jsonl"
    write_spans(path)
    return path


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_tree_of_a_file(spans_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "traces", "--file", str(spans_file), "--tag", "prod")
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert len(lines) == 4
    assert lines[0].startswith("trace ")
    assert lines[0].endswith("1 error")
    assert "  service svc-a  3 spans  " in lines[0]
    assert lines[1].startswith("└─ » chain  ")
    assert lines[2].startswith("   ├─ chat m  ")
    assert lines[2].endswith("  tokens 5→2")
    assert lines[3].startswith("   └─ execute_tool t  ")
    assert lines[3].endswith("  ERROR ValueError: no")


@pytest.mark.parametrize(
    ("attr", "names"),
    [
        ("temp=0.5", ["chat m"]),
        ("temp=0.50", ["chat m"]),
        ("gen_ai.usage.input_tokens=5", ["chat m"]),
        ("gen_ai.usage.input_tokens=5.0", ["chat m"]),
        ("gen_ai.usage.input_tokens=6", []),
        ("langchain.tag.prod=TRUE", ["chain"]),
        ("langchain.tags=prod", ["chain"]),
        ("langchain.metadata.user=007", ["other"]),
        ("langchain.metadata.user=7", []),
        ("error=true", ["execute_tool t"]),
        ("error=false", ["chain", "chat m", "other"]),
        ("service.name=svc-a", ["chain", "chat m", "execute_tool t", "other"]),
    ],
)
def test_attribute_values_are_compared_by_type(
    spans_file: Path, capsys: pytest.CaptureFixture[str], attr: str, names: list[str]
) -> None:
    code, out, _ = run(capsys, "traces", "--file", str(spans_file), "--attr", attr, "--json")
    assert code == 0
    found = sorted(s["name"] for t in json.loads(out)["traces"] for s in t["spans"] if s["matched"])
    assert found == names


def test_corrupt_lines_are_reported_and_skipped(spans_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = spans_file.read_bytes().splitlines()
    spans_file.write_bytes(
        b"\n".join(
            [
                good[0],
                b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": 1',  # cut short
                b"\xff\xfe not text",
                b'{"hello": "world"}',
                b"",
                *good[1:],
            ]
        )
        + b"\n"
    )
    code, out, err = run(capsys, "traces", "--file", str(spans_file), "--json")
    assert code == 0
    assert [len(t["spans"]) for t in json.loads(out)["traces"]] == [1, 3]
    assert err.splitlines() == [
        f"lc-otel: {spans_file}:2: skipped a corrupt line: not JSON (Expecting ',' delimiter at column 60)",
        f"lc-otel: {spans_file}:3: skipped a corrupt line: not UTF-8 text",
        f"lc-otel: {spans_file}:4: skipped a corrupt line: not OTLP TracesData (no 'resourceSpans')",
    ]


def test_many_corrupt_lines_are_summarised(spans_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with spans_file.open("a", encoding="utf-8") as handle:
        handle.write("garbage\n" * 25)
    code, out, err = run(capsys, "traces", "--file", str(spans_file))
    assert code == 0
    assert out.count("trace ") == 2
    assert len(err.splitlines()) == 11
    assert err.splitlines()[-1] == f"lc-otel: {spans_file}: skipped 15 more corrupt lines"


def test_since_filters_by_start_time(spans_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lines = spans_file.read_text(encoding="utf-8").splitlines()
    old = json.loads(lines[-1])
    span = old["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
    span["traceId"] = "0" * 31 + "1"
    span["startTimeUnixNano"] = "1485467191639875000"  # 2017
    span["endTimeUnixNano"] = "1485467191739875000"
    with spans_file.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(old) + "\n")
    _, everything, _ = run(capsys, "traces", "--file", str(spans_file), "--json")
    _, recent, _ = run(capsys, "traces", "--file", str(spans_file), "--since", "1h", "--json")
    assert len(json.loads(everything)["traces"]) == 3
    assert "0" * 31 + "1" not in [t["traceId"] for t in json.loads(recent)["traces"]]
    assert len(json.loads(recent)["traces"]) == 2


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda d: d / "missing.jsonl", "cannot read {p}: No such file or directory"),
        (lambda d: d, "cannot read {p}: it is a directory"),
    ],
)
def test_unreadable_files_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str], make, message) -> None:
    path = make(tmp_path)
    code, out, err = run(capsys, "traces", "--file", str(path))
    assert (code, out) == (1, "")
    assert err == "lc-otel: " + message.format(p=path) + "\n"


def test_a_file_with_no_readable_line_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("hello\nworld\n", encoding="utf-8")
    code, out, err = run(capsys, "traces", "--file", str(path))
    assert (code, out) == (1, "")
    assert err.splitlines()[-1] == f"lc-otel: {path} holds no OTLP JSON lines (2 lines, none readable)"


def test_an_empty_file_has_no_matches(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "empty.jsonl"
    path.write_text("", encoding="utf-8")
    assert run(capsys, "traces", "--file", str(path)) == (0, "", "lc-otel: no matching spans\n")


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["traces", "--limit", "0"], "argument --limit: must be at least 1: '0'"),
        (["traces", "--limit", "x"], "argument --limit: not a whole number: 'x'"),
        (["traces", "--attr", "novalue"], "argument --attr: expected KEY=VALUE, got 'novalue'"),
        (["traces", "--since", "soon"], "argument --since: not a duration: 'soon'"),
        (["traces", "--file", "a", "--jaeger", "http://x"], "argument --jaeger: not allowed with argument --file"),
        (["demo", "--protocol", "udp"], "argument --protocol: invalid choice: 'udp'"),
        (["traces", "--jaeger", "not-a-url"], "argument --jaeger: not an http(s) URL: 'not-a-url'"),
        (["traces", "--jaeger", "http://[::1"], "argument --jaeger: not a valid URL: 'http://[::1'"),
        (["traces", "--jaeger", "file:///etc"], "argument --jaeger: not an http(s) URL: 'file:///etc'"),
        ([], "the following arguments are required: COMMAND"),
    ],
)
def test_bad_arguments_are_one_line(capsys: pytest.CaptureFixture[str], args: list[str], fragment: str) -> None:
    code, out, err = run(capsys, *args)
    assert (code, out) == (2, "")
    assert err.count("\n") == 1
    assert err.startswith("lc-otel")
    assert fragment in err


def _render(monkeypatch: pytest.MonkeyPatch, *, tty: bool, no_color: str | None, encoding: str = "utf-8") -> str:
    if no_color is None:
        monkeypatch.delenv("NO_COLOR", raising=False)
    else:
        monkeypatch.setenv("NO_COLOR", no_color)

    class Terminal(io.TextIOWrapper):
        def isatty(self) -> bool:
            return tty

    raw = io.BytesIO()
    stream = Terminal(raw, encoding=encoding)
    data = {
        "resourceSpans": [
            {
                "scopeSpans": [
                    {
                        "spans": [
                            {"traceId": "01", "spanId": "0a", "name": "root", "status": {"code": 2, "message": "x"}},
                            {
                                "traceId": "01",
                                "spanId": "0b",
                                "parentSpanId": "0a",
                                "name": "chat",
                                "attributes": [{"key": "gen_ai.usage.input_tokens", "value": {"intValue": "3"}}],
                            },
                        ]
                    }
                ]
            }
        ]
    }
    write_traces([parse_traces_data(data)], stream)
    stream.flush()
    return raw.getvalue().decode(encoding)


def test_colour_only_on_a_terminal_without_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    coloured = _render(monkeypatch, tty=True, no_color=None)
    assert "\x1b[31mERROR x\x1b[0m" in coloured
    assert "\x1b[1mroot\x1b[0m" in coloured
    assert "\x1b[" not in _render(monkeypatch, tty=True, no_color="1")
    plain = _render(monkeypatch, tty=False, no_color=None)
    assert plain == "trace 01  2 spans  ?  1 error\n└─ root  ?  ERROR x\n   └─ chat  ?  tokens 3→?\n"


def test_ascii_when_the_terminal_cannot_encode_box_characters(monkeypatch: pytest.MonkeyPatch) -> None:
    text = _render(monkeypatch, tty=False, no_color=None, encoding="ascii")
    assert text == "trace 01  2 spans  ?  1 error\n`- root  ?  ERROR x\n   `- chat  ?  tokens 3->?\n"


def test_a_since_longer_than_the_epoch_still_queries(capsys: pytest.CaptureFixture[str]) -> None:
    """``--since`` past 1970 means everything: the query goes out (here to a port nothing listens on), no overflow."""
    code, out, err = run(capsys, "traces", "--jaeger", "http://127.0.0.1:1", "--since", "9" * 30 + "d")
    assert (code, out) == (1, "")
    assert err.startswith("lc-otel: cannot reach Jaeger at http://127.0.0.1:1: ")
    assert err.count("\n") == 1

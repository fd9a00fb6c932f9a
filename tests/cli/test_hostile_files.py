"""`lc-otel traces --file` on files that hold hostile or broken data, and the tree drawn from them.

What is printed from data never carries a control character (the tree, the skipped-line reports, the errors);
``--json`` stays exact JSON. Malformed values skip their line with a report, never a traceback.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from lc_otel._cli.traces.otlp_json import parse_traces_data
from lc_otel._cli.traces.tree import MAX_DRAWN_DEPTH, write_traces
from lc_otel.cli import main

TRACE = "ab" * 16
T0 = 1_700_000_000_000_000_000
HOSTILE = "\x1b]0;PWNED\x07\x1b[2J\x00\x7f\x85\x9b31m\u202e\u2028\ud800"
HOSTILE_SHOWN = "\\x1b]0;PWNED\\x07\\x1b[2J\\x00\\x7f\\x85\\x9b31m\\u202e\\u2028\\ud800"


def span(number: int, parent: int | None = None, **fields: Any) -> dict[str, Any]:
    """An OTLP/JSON span of trace ``TRACE`` with id ``number``, 1 ms long."""
    out: dict[str, Any] = {
        "traceId": TRACE,
        "spanId": f"{number:016x}",
        "name": f"s{number}",
        "startTimeUnixNano": str(T0 + number),
        "endTimeUnixNano": str(T0 + number + 1_000_000),
    }
    if parent is not None:
        out["parentSpanId"] = f"{parent:016x}"
    out.update(fields)
    return out


def line(*spans: dict[str, Any], service: Any = "svc") -> str:
    resource = {"attributes": [{"key": "service.name", "value": {"stringValue": service}}]}
    return json.dumps({"resourceSpans": [{"resource": resource, "scopeSpans": [{"spans": list(spans)}]}]})


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["traces", *args])
    out, err = capsys.readouterr()
    return code, out, err


def printable_lines(text: str) -> list[str]:
    lines = text.split("\n")
    assert lines[-1] == "", "output ends with a newline"
    assert all(part.isprintable() for part in lines[:-1]), [part for part in lines if not part.isprintable()]
    return lines[:-1]


@pytest.fixture(name="write")
def _write(tmp_path: Path) -> Any:
    path = tmp_path / "spans.jsonl"

    def write(*lines: str | bytes) -> str:
        path.write_bytes(
            b"".join((x if isinstance(x, bytes) else x.encode("utf-8", "surrogatepass")) + b"\n" for x in lines)
        )
        return str(path)

    return write


# --- control characters ----------------------------------------------------------------------------------------


def test_control_characters_are_escaped_in_the_tree(write: Any, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(
        line(
            span(1, name="root" + HOSTILE),
            span(2, 1, name="tool", status={"code": 2, "message": "boom" + HOSTILE}),
            service="svc" + HOSTILE,
        ),
        line(span(3, 1, name="remote"), service="other\x1b[31m"),
    )
    code, out, err = run(capsys, "--file", path)
    assert (code, err) == (0, "")
    assert printable_lines(out) == [
        f"trace {TRACE}  service svc{HOSTILE_SHOWN}  3 spans  1.00 ms  1 error",
        f"└─ » root{HOSTILE_SHOWN}  1.00 ms",
        "   ├─ » tool  1.00 ms  ERROR boom" + HOSTILE_SHOWN,
        "   └─ » remote  1.00 ms  [other\\x1b[31m]",
    ]


def test_a_newline_in_a_span_name_does_not_forge_a_tree_line(write: Any, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(line(span(1, name="real\n└─ forged-span  1.00 ms  OK\r\n")))
    code, out, _ = run(capsys, "--file", path)
    assert code == 0
    assert printable_lines(out)[1:] == ["└─ » real\\n└─ forged-span  1.00 ms  OK\\r\\n  1.00 ms"]


def test_json_output_stays_exact_json(write: Any, capsys: pytest.CaptureFixture[str]) -> None:
    name = "a\x1b[2J\x07\x85\x9b\u202e\nb"
    attrs = [{"key": "k\x1b", "value": {"stringValue": "v\x9b\x00"}}]
    path = write(line(span(1, name=name, attributes=attrs, status={"code": 2, "message": "m\x07"}), service="s\x85"))
    code, out, _ = run(capsys, "--file", path, "--json")
    assert code == 0
    assert out.isascii()  # \u0085 and \u009b escaped like every other character outside ASCII
    assert "\\u0085" in out
    assert "\\u009b" in out
    printable_lines(out)
    found = json.loads(out)["traces"][0]["spans"][0]
    assert found["name"] == name
    assert found["attributes"] == {"k\x1b": "v\x9b\x00"}
    assert found["status"] == {"code": "ERROR", "message": "m\x07"}
    assert found["service"] == "s\x85"


def test_long_names_are_cut_in_the_tree_and_whole_in_json(write: Any, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(line(span(1, name="n" * 1_000_000)))
    _, out, _ = run(capsys, "--file", path)
    assert printable_lines(out)[1] == f"└─ » {'n' * 200}... (1,000,000 characters)  1.00 ms"
    _, out, _ = run(capsys, "--file", path, "--json")
    assert json.loads(out)["traces"][0]["spans"][0]["name"] == "n" * 1_000_000


@pytest.mark.parametrize(
    ("encoding", "expected"),
    [
        ("ascii", "`- > caf\\xe9 \\u2603 \\U0001f600 \\x1b  ?"),
        ("latin-1", "`- > café \\u2603 \\U0001f600 \\x1b  ?"),
        ("utf-8", "└─ » café ☃ 😀 \\x1b  ?"),
    ],
)
def test_any_stream_encoding(encoding: str, expected: str) -> None:
    """Characters the stream cannot encode are escaped, not a UnicodeEncodeError."""
    raw = io.BytesIO()
    stream = io.TextIOWrapper(raw, encoding=encoding)
    data = {
        "resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "01", "spanId": "02", "name": "café ☃ 😀 \x1b"}]}]}]
    }
    write_traces([parse_traces_data(data)], stream, matched={("01", "02")})
    stream.flush()
    assert raw.getvalue().decode(encoding).splitlines()[1] == expected


# --- malformed values ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        (span(9, attributes=[{"key": "d", "value": {"doubleValue": "abc"}}]), "doubleValue is not a number: 'abc'"),
        (span(9, attributes=[{"key": "d", "value": {"doubleValue": [1]}}]), "doubleValue is not a number: list"),
        (span(9, attributes=[{"key": "b", "value": {"boolValue": "yes"}}]), "boolValue is not a boolean: 'yes'"),
        (span(9, attributes=[{"key": "i", "value": {"intValue": "1e400"}}]), "intValue is not an integer: '1e400'"),
        (span(9, startTimeUnixNano=1e400), "startTimeUnixNano is not an integer: inf"),
        (span(9, startTimeUnixNano="1e400"), "startTimeUnixNano is not an integer: '1e400'"),
        (span(9, endTimeUnixNano=float("nan")), "endTimeUnixNano is not an integer: nan"),
        (span(9, endTimeUnixNano="-5"), "endTimeUnixNano is out of range: '-5'"),
        (span(9, endTimeUnixNano=str(2**64)), "endTimeUnixNano is out of range: '18446744073709551616'"),
        (span(9, name={"a": 1}), "name is not a string: dict"),
        (span(9, spanId="0x1f"), "spanId is not hex: '0x1f'"),
        (span(9, spanId="\x1b[2J"), "spanId is not hex: '\\x1b[2J'"),
        (span(9, status={"code": 2, "message": ["x"]}), "status message is not a string: list"),
    ],
)
def test_malformed_values_skip_their_line(
    write: Any, capsys: pytest.CaptureFixture[str], bad: dict[str, Any], reason: str
) -> None:
    path = write(line(span(1)), line(bad))
    code, out, err = run(capsys, "--file", path, "--json")
    assert code == 0
    assert [s["spanId"] for t in json.loads(out)["traces"] for s in t["spans"]] == [f"{1:016x}"]
    assert printable_lines(err) == [f"lc-otel: {path}:2: skipped a corrupt line: {reason}"]


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b'{"resourceSpans": [' + b"[" * 100_000 + b"]" * 100_000 + b"]}", "nested too deeply"),
        (b'{"resourceSpans": [], "n": ' + b"9" * 5000 + b"}", "not JSON that can be read (a number too long)"),
        (b"\xff\xfe\x1b[2J not text", "not UTF-8 text"),
        (b'{"resourceSpans": "\x1b]0;x\x07"}', "not JSON (Invalid control character at column 20)"),
    ],
    ids=["deep", "long-number", "not-utf8", "raw-control"],
)
def test_unreadable_lines_skip_with_a_printable_report(
    write: Any, capsys: pytest.CaptureFixture[str], raw: bytes, reason: str
) -> None:
    path = write(line(span(1)), raw)
    code, out, err = run(capsys, "--file", path)
    assert code == 0
    assert len(printable_lines(out)) == 2
    assert printable_lines(err) == [f"lc-otel: {path}:2: skipped a corrupt line: {reason}"]


def test_a_path_with_control_characters_is_escaped(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "x\x1b[2J\x07.jsonl"
    code, out, err = run(capsys, "--file", str(path))
    assert (code, out) == (1, "")
    assert printable_lines(err) == [f"lc-otel: cannot read {tmp_path}/x\\x1b[2J\\x07.jsonl: No such file or directory"]


# --- deep and cyclic trees --------------------------------------------------------------------------------------


@pytest.mark.parametrize("depth", [3000, 100_000])
def test_a_deep_trace_is_drawn(write: Any, capsys: pytest.CaptureFixture[str], depth: int) -> None:
    path = write(line(*(span(i, i - 1 if i > 1 else None) for i in range(1, depth + 1))))
    start = time.monotonic()
    code, out, err = run(capsys, "--file", path)
    elapsed = time.monotonic() - start
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert len(lines) == depth + 1
    assert lines[0].startswith(f"trace {TRACE}  service svc  {depth} spans  ")
    guides = " " * 3 * MAX_DRAWN_DEPTH
    assert lines[2] == "   └─ » s2  1.00 ms"
    assert lines[MAX_DRAWN_DEPTH + 1] == f"{guides}└─ (depth {MAX_DRAWN_DEPTH}) » s{MAX_DRAWN_DEPTH + 1}  1.00 ms"
    assert lines[-1] == f"{guides}└─ (depth {depth - 1}) » s{depth}  1.00 ms"
    assert elapsed < 60  # was: RecursionError at 1,000; the walk is linear (about 2 s for 100,000 here)


def test_parent_cycles_are_drawn_as_roots(write: Any, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(line(span(1, 2), span(2, 1), span(3, 3), span(4, 1)))
    code, out, _ = run(capsys, "--file", path)
    assert code == 0
    assert printable_lines(out)[1:] == [
        "├─ » s1  1.00 ms",
        "│  └─ » s4  1.00 ms",
        "├─ » s2  1.00 ms",
        "└─ » s3  1.00 ms",
    ]


# --- arguments --------------------------------------------------------------------------------------------------


def test_a_since_of_centuries_means_everything(write: Any, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(line(span(1)))
    code, out, err = run(capsys, "--file", path, "--since", "9" * 400 + "w", "--json")
    assert (code, err) == (0, "")
    assert len(json.loads(out)["traces"]) == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--limit", "9" * 5000], "argument --limit: not a whole number: '999"),
        (["--since", "\x1b[2J"], "argument --since: not a duration: '\\x1b[2J'"),
        (["--attr", "\x1b]0;x\x07"], "argument --attr: expected KEY=VALUE, got '\\x1b]0;x\\x07'"),
        (["\x1b]0;PWNED\x07"], "unrecognized arguments: \\x1b]0;PWNED\\x07"),
    ],
)
def test_bad_arguments_are_escaped(capsys: pytest.CaptureFixture[str], args: list[str], message: str) -> None:
    code, out, err = run(capsys, *args)
    assert (code, out) == (2, "")
    assert len(printable_lines(err)) == 1
    assert message in err
    assert len(err) < 600


# --- odd files --------------------------------------------------------------------------------------------------


def test_a_bom_is_ignored(write: Any, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(b"\xef\xbb\xbf" + line(span(1)).encode())
    code, out, err = run(capsys, "--file", path, "--json")
    assert (code, err) == (0, "")
    assert len(json.loads(out)["traces"]) == 1


def test_an_empty_file_has_no_matches(write: Any, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "--file", write()) == (0, "", "lc-otel: no matching spans\n")


def test_a_directory_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "--file", str(tmp_path)) == (1, "", f"lc-otel: cannot read {tmp_path}: it is a directory\n")


def test_a_line_of_100_mb_is_skipped_with_the_default_cap(write: Any, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(line(span(1)), b'{"resourceSpans": [], "pad": "' + b"x" * 100_000_000 + b'"}', line(span(2)))
    code, out, err = run(capsys, "--file", path, "--json")
    assert code == 0
    assert len(json.loads(out)["traces"][0]["spans"]) == 2
    assert err == f"lc-otel: {path}:2: skipped a corrupt line: longer than 64 MiB (--max-bytes), not read\n"


def test_a_long_line_is_skipped_in_bounded_memory(write: Any) -> None:
    path = write(line(span(1)), b"[" * 50_000_000, line(span(2)))
    # In a process of its own: tracemalloc counts every thread's allocations, and a test run leaves threads
    # behind (exporters, readers) whose allocations would land in this window.
    measure = (
        "import sys, tracemalloc\n"
        "from lc_otel.cli import main\n"
        "tracemalloc.start()\n"
        "code = main(['traces', '--file', sys.argv[1], '--max-bytes', '1M'])\n"
        "print('peak', tracemalloc.get_traced_memory()[1], 'code', code)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", measure, path], capture_output=True, text=True, timeout=120, check=False
    )
    *tree, summary = done.stdout.splitlines()
    _, peak, _, code = summary.split()
    assert (done.returncode, code) == (0, "0")
    assert len(tree) == 3
    assert done.stderr == f"lc-otel: {path}:2: skipped a corrupt line: longer than 1 MiB (--max-bytes), not read\n"
    assert int(peak) < 16 * 1024 * 1024  # the line is 50 MB


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
def test_a_named_pipe_is_read_as_it_is_written(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fifo = tmp_path / "spans.fifo"
    os.mkfifo(fifo)

    def writer() -> None:
        time.sleep(0.3)
        with fifo.open("w", encoding="utf-8") as handle:
            handle.write(line(span(1)) + "\n")

    thread = threading.Thread(target=writer)
    thread.start()
    code, out, err = run(capsys, "--file", str(fifo), "--json", "--timeout", "20")
    thread.join()
    assert (code, err) == (0, "")
    assert len(json.loads(out)["traces"]) == 1


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
def test_a_named_pipe_nobody_writes_to_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fifo = tmp_path / "spans.fifo"
    os.mkfifo(fifo)
    start = time.monotonic()
    code, out, err = run(capsys, "--file", str(fifo), "--timeout", "1")
    assert (code, out) == (1, "")
    assert err == f"lc-otel: cannot read {fifo}: nothing was written to this pipe within 1 s (--timeout)\n"
    assert time.monotonic() - start < 10  # was: blocked in open() until a writer came

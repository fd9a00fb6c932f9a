"""Property tests: near-valid OTLP JSON with random types in every field, and random bytes, fed to the file
reader, the tree printer and the whole ``lc-otel traces --file`` command.

Whatever the input, no exception escapes, and every printed line is free of control characters (C0, DEL,
C1, lone surrogates, line separators, bidirectional overrides) except the newline that ends it.
"""

from __future__ import annotations

import contextlib
import io
import json
import tempfile
import unicodedata
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lc_otel._cli.traces.file import read_spans_file
from lc_otel._cli.traces.model import Span
from lc_otel._cli.traces.otlp_json import FormatError, parse_traces_data
from lc_otel._cli.traces.tree import render_trace, write_traces
from lc_otel.cli import main

_BIDI = set("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def control_characters(line: str) -> list[str]:
    """The characters of ``line`` that a terminal could act on or that would break the line."""
    return [c for c in line if unicodedata.category(c) in {"Cc", "Cs", "Zl", "Zp"} or c in _BIDI]


def assert_clean(text: str) -> None:
    assert text == "" or text.endswith("\n")
    for line in text.split("\n")[:-1]:
        assert not control_characters(line), (line, control_characters(line))


# --- strategies ------------------------------------------------------------------------------------------------

HOSTILE_TEXT = st.text(
    alphabet=st.sampled_from("ab0f é😀\x00\x07\x1b[]\n\r\t\x7f\x85\x9b\u202e\u2028\u2029\ud800\udfff")
)
TEXT = st.one_of(st.text(max_size=20), HOSTILE_TEXT)
SCALAR = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    TEXT,
)
JUNK = st.recursive(
    SCALAR, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3), max_leaves=6
)


def maybe(valid: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Mostly a valid value, one time in forty anything (so that many documents hold valid spans)."""
    return st.sampled_from([True] * 39 + [False]).flatmap(lambda keep: valid if keep else JUNK)


IDS = st.sampled_from(["01", "02", "03", "0a", "ab" * 8] * 16 + ["", "zz", "0x1f", "AB"])  # a few ids: trees, cycles
ANY_VALUE = st.recursive(
    st.one_of(
        st.fixed_dictionaries({"stringValue": maybe(TEXT)}),
        st.fixed_dictionaries({"intValue": maybe(st.integers().map(str) | st.integers())}),
        st.fixed_dictionaries(
            {"doubleValue": maybe(st.floats() | st.sampled_from(["NaN", "Infinity", "abc", "1e400"]))}
        ),
        st.fixed_dictionaries({"boolValue": maybe(st.booleans())}),
        st.fixed_dictionaries({"bytesValue": maybe(TEXT)}),
        JUNK,
    ),
    lambda inner: st.one_of(
        st.fixed_dictionaries({"arrayValue": st.fixed_dictionaries({"values": st.lists(inner, max_size=3)})}),
        st.fixed_dictionaries(
            {
                "kvlistValue": st.fixed_dictionaries(
                    {"values": st.lists(st.fixed_dictionaries({"key": TEXT, "value": inner}), max_size=3)}
                )
            }
        ),
    ),
    max_leaves=5,
)
ATTRIBUTES = maybe(st.lists(maybe(st.fixed_dictionaries({"key": maybe(TEXT), "value": ANY_VALUE})), max_size=4))
TIME = maybe(
    st.integers(min_value=0, max_value=2**64).map(str) | st.integers(min_value=-5, max_value=2**65) | st.floats()
)
SPAN = maybe(
    st.fixed_dictionaries(
        {"traceId": maybe(st.sampled_from(["01", "ab" * 16])), "spanId": maybe(IDS)},
        optional={
            "parentSpanId": maybe(IDS),
            "name": maybe(TEXT),
            "kind": maybe(st.integers(-1, 6) | st.sampled_from(["SPAN_KIND_CLIENT", "SERVER", "x"])),
            "startTimeUnixNano": TIME,
            "endTimeUnixNano": TIME,
            "status": maybe(
                st.fixed_dictionaries(
                    {},
                    optional={"code": maybe(st.integers(0, 3) | st.just("STATUS_CODE_ERROR")), "message": maybe(TEXT)},
                )
            ),
            "attributes": ATTRIBUTES,
        },
    )
)
SERVICE = st.fixed_dictionaries(
    {"key": st.just("service.name"), "value": st.fixed_dictionaries({"stringValue": maybe(TEXT)})}
)
RESOURCE_SPANS = maybe(
    st.fixed_dictionaries(
        {
            "scopeSpans": maybe(
                st.lists(
                    maybe(
                        st.fixed_dictionaries(
                            {"spans": maybe(st.lists(SPAN, min_size=1, max_size=6))},
                            optional={"scope": maybe(st.fixed_dictionaries({"name": maybe(TEXT)}))},
                        )
                    ),
                    min_size=1,
                    max_size=2,
                )
            ),
        },
        optional={"resource": maybe(st.fixed_dictionaries({"attributes": maybe(st.lists(SERVICE, max_size=1))}))},
    )
)
DOCUMENT = maybe(st.fixed_dictionaries({"resourceSpans": maybe(st.lists(RESOURCE_SPANS, min_size=1, max_size=3))}))


def encode(document: Any) -> bytes:
    # ensure_ascii writes lone surrogates as \ud800 escapes, as a JSON producer may.
    return json.dumps(document, allow_nan=True).encode("ascii")


LINE = st.one_of(DOCUMENT.map(encode), DOCUMENT.map(encode), st.binary(max_size=40))


# --- properties ------------------------------------------------------------------------------------------------

FUZZ = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)


@FUZZ
@given(documents=st.lists(DOCUMENT, min_size=1, max_size=3))
def test_the_parser_and_the_tree_printer_never_raise_and_print_clean_lines(documents: list[Any]) -> None:
    spans: list[Span] = []
    for document in documents:
        try:
            spans.extend(parse_traces_data(json.loads(encode(document))))
        except (FormatError, RecursionError):
            continue
    for color in (False, True):
        for line in render_trace(spans, color=color, matched={s.span_id for s in spans}):
            # Colour codes are ours; what the data holds must be escaped.
            assert not control_characters(line.replace("\x1b[", "")), line
    for encoding in ("utf-8", "ascii", "latin-1"):
        raw = io.BytesIO()
        stream = io.TextIOWrapper(raw, encoding=encoding, newline="\n")
        by_trace: dict[str, list[Span]] = {}
        for span in spans:
            by_trace.setdefault(span.trace_id, []).append(span)
        write_traces(by_trace.values(), stream)
        stream.flush()
        assert_clean(raw.getvalue().decode(encoding))


@FUZZ
@given(lines=st.lists(LINE, max_size=5), json_output=st.booleans())
def test_the_command_never_raises_and_prints_clean_lines(lines: list[bytes], json_output: bool) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "spans.jsonl"
        path.write_bytes(b"\n".join(lines) + b"\n")
        contents = read_spans_file(path)  # the reader alone: no exception escapes it
        assert len(contents.bad_lines) <= contents.lines
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(["traces", "--file", str(path), *(["--json"] if json_output else [])])
    assert code in (0, 1)
    assert "internal error" not in err.getvalue()
    assert_clean(out.getvalue())
    assert_clean(err.getvalue())
    if json_output and code == 0:
        json.loads(out.getvalue())


@FUZZ
@given(name=st.text(), message=st.text(), service=st.text(), trace_id=st.text())
def test_any_text_in_a_span_is_drawn_on_one_clean_line(name: str, message: str, service: str, trace_id: str) -> None:
    span = Span(
        trace_id=trace_id,
        span_id="01",
        parent_id=None,
        name=name,
        status="ERROR",
        status_message=message,
        resource={"service.name": service},
    )
    lines = render_trace([span])
    assert len(lines) == 2
    for line in lines:
        assert not control_characters(line)

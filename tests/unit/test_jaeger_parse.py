"""Real Jaeger responses (tests/fixtures/jaeger, copied from Jaeger's own test suites) parse into the right trees."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from lc_otel._cli.traces.jaeger_v1 import parse_v1_response, parse_v1_trace
from lc_otel._cli.traces.model import Span
from lc_otel._cli.traces.otlp_json import FormatError, parse_traces_data
from lc_otel._cli.traces.tree import Node, build_tree, render_trace

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "jaeger"


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def shape(nodes: list[Node]) -> list[tuple[str, list[Any]]]:
    return [(f"{n.span.span_id}:{n.span.name}", shape(n.children)) for n in nodes]


def test_v3_find_traces_snapshot_minimal_span_without_timestamps() -> None:
    spans = parse_traces_data(load("FindTraces.json")["result"])
    assert spans == [
        Span(
            trace_id="00000000000000000000000000000001",
            span_id="0000000000000002",
            parent_id=None,
            name="foobar",
            kind="SERVER",
            status="ERROR",
            scope="",
        )
    ]
    assert spans[0].duration_ns is None
    assert render_trace(spans) == [
        "trace 00000000000000000000000000000001  1 span  ?  1 error",
        "└─ foobar  ?  ERROR",
    ]


def test_v3_multi_trace_result_is_grouped_and_typed() -> None:
    spans = parse_traces_data(load("otel_traces_01.json"))
    assert [(s.trace_id[:16], s.span_id, s.parent_id, s.kind) for s in spans] == [
        ("0000000000000001", "0000000000000002", "0000000000000003", "SERVER"),
        ("0000000000000002", "0000000000000003", "0000000000000010", "CLIENT"),
        ("0000000000000001", "0000000000000004", "0000000000000011", "PRODUCER"),
        ("0000000000000002", "0000000000000005", "0000000000000010", "CONSUMER"),
    ]
    first = spans[0]
    assert first.service == "service-x"
    assert first.scope == "testing-library-2"
    assert first.status == "ERROR"
    # intValue arrives as a JSON string and is read back as an int; doubles and bytes keep their form.
    assert first.attributes == {
        "peer.service": "service-y",
        "peer.ipv4": 23456,
        "blob": "AAAwOQ==",
        "temperature": 72.5,
    }
    # Parents outside the returned spans: every span is a root of its own trace's tree.
    trace_one = [s for s in spans if s.trace_id.startswith("0000000000000001")]
    assert shape(build_tree(trace_one)) == [
        ("0000000000000002:test-general-conversion-2", []),
        ("0000000000000004:test-general-conversion-4", []),
    ]


@pytest.mark.parametrize("fixture", ["otlp2jaeger-out.json", "v1.60.0_otlp2jaeger-out.json"])
def test_v1_envelope_both_scope_tag_spellings(fixture: str) -> None:
    spans = parse_v1_response(load(fixture))
    assert len(spans) == 2
    for span in spans:
        assert span.trace_id == "83a9efd15c1c98a977e0711cc93ee28b"
        assert span.span_id == "e127af99e3b3e074"
        assert span.parent_id == "909541b92cf05311"
        assert span.name == "okey-dokey-0"
        assert span.kind == "SERVER"
        assert span.scope == "telemetrygen"
        assert span.service == "telemetrygen"
        assert span.start_ns == 1706678909209712000
        assert span.duration_ns == 123_000
        # Synthetic v1 tags are folded back into span fields, not left as attributes.
        assert span.attributes == {"net.peer.ip": "1.2.3.4", "peer.service": "telemetrygen-client"}
    # The two identical spans Jaeger's transform leaves duplicated draw as one.
    assert len(build_tree(spans)) == 1


def test_v1_ui_trace_every_tag_type_and_references() -> None:
    spans = parse_v1_trace(load("ui_01.json"))
    by_name = {s.name: s for s in spans}
    tagged = spans[1]
    assert (tagged.span_id, tagged.name) == ("0000000000000002", "some-operation")
    assert tagged.attributes == {
        "peer.service": "service-y",
        "peer.ipv4": 23456,
        "temperature": 72.5,
        "javascript_limit": 9223372036854775222,  # sent as a string beyond 2**53
        "blob": "AAAwOQ==",
    }
    assert tagged.status == "ERROR"  # from the bool `error` tag
    assert tagged.service == "service-x"
    assert by_name["reference-test"].service == "service-y"
    # The cross-trace CHILD_OF reference is skipped; the in-trace one is the parent.
    assert by_name["reference-test"].parent_id == "0000000000000002"
    assert shape(build_tree(spans)) == [
        (
            "0000000000000002:test-general-conversion",
            [
                ("0000000000000003:some-operation", []),
                ("0000000000000004:reference-test", [("0000000000000005:preserveParentID-test", [])]),
            ],
        ),
        ("0000000000000002:some-operation", []),
    ]


def test_v1_genai_trace_is_one_tree_with_every_span() -> None:
    spans = parse_v1_trace(load("genaiTestTrace.json"))
    assert len(spans) == 57
    roots = build_tree(spans)
    assert [r.span.name for r in roots] == ["POST /api/graphql"]

    def count(node: Node) -> int:
        return 1 + sum(count(c) for c in node.children)

    assert count(roots[0]) == 57
    chats = [s for s in spans if s.attributes.get("gen_ai.operation.name") == "chat"]
    assert len(chats) == 5
    assert all(isinstance(s.attributes.get("gen_ai.usage.input_tokens"), int) for s in chats)
    lines = render_trace(spans)
    assert len(lines) == 58
    assert sum("ERROR" in line for line in lines[1:]) == 1
    chat_line = next(line for line in lines if chats[0].name in line and "tokens" in line)
    assert f"tokens {chats[0].attributes['gen_ai.usage.input_tokens']}→" in chat_line


@pytest.mark.parametrize(
    "body",
    [
        {"data": [{"spans": "nope"}]},
        {"data": [{"spans": [{"tags": [{"type": "string", "value": "x"}]}]}]},
        {"result": {}},
    ],
)
def test_malformed_v1_bodies_raise_format_error(body: Any) -> None:
    with pytest.raises(FormatError):
        parse_v1_response(body)


@pytest.mark.parametrize(
    "data",
    [
        {"spans": []},
        {"resourceSpans": "x"},
        {"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "zz", "spanId": "01"}]}]}]},
        {"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "01", "spanId": "01", "kind": True}]}]}]},
        {"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "01", "spanId": "01", "attributes": [{}]}]}]}]},
    ],
)
def test_malformed_otlp_raises_format_error(data: Any) -> None:
    with pytest.raises(FormatError):
        parse_traces_data(data)

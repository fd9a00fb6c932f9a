"""``lc-otel traces --json``: the found traces as one JSON document, stable for scripts."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import Any

from lc_otel._cli.traces.model import Span


def span_to_json(span: Span, *, matched: bool) -> dict[str, Any]:
    """One span as a plain JSON object (ids in hex, times in Unix nanoseconds)."""
    return {
        "traceId": span.trace_id,
        "spanId": span.span_id,
        "parentSpanId": span.parent_id,
        "name": span.name,
        "kind": span.kind,
        "service": span.service,
        "startTimeUnixNano": span.start_ns,
        "endTimeUnixNano": span.end_ns,
        "durationMs": None if span.duration_ns is None else span.duration_ns / 1e6,
        "status": {"code": span.status, "message": span.status_message},
        "attributes": dict(span.attributes),
        "resource": dict(span.resource),
        "matched": matched,
    }


def traces_to_json(traces: Iterable[Iterable[Span]], matched: Collection[tuple[str, str]]) -> dict[str, Any]:
    """``{"traces": [{"traceId": ..., "spans": [...]}, ...]}``, spans in start order."""
    out: list[dict[str, Any]] = []
    for spans in traces:
        group = sorted(spans, key=lambda s: (s.start_ns or 0, s.span_id))
        if not group:
            continue
        out.append(
            {
                "traceId": group[0].trace_id,
                "spans": [span_to_json(s, matched=(s.trace_id, s.span_id) in matched) for s in group],
            }
        )
    return {"traces": out}

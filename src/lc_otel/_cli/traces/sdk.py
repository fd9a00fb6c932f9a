"""OpenTelemetry SDK ``ReadableSpan`` → :class:`Span`, for drawing spans that never left the process."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import format_span_id, format_trace_id

from lc_otel._cli.traces.model import AttrValue, Span


def _value(value: Any) -> AttrValue:
    if isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, (list, tuple)):
        return [_value(item) for item in value]
    return str(value)


def _attributes(attributes: Mapping[str, Any] | None) -> dict[str, AttrValue]:
    return {key: _value(value) for key, value in (attributes or {}).items()}


def spans_from_sdk(spans: Iterable[ReadableSpan]) -> list[Span]:
    """Convert finished SDK spans (for example from ``InMemorySpanExporter``)."""
    out: list[Span] = []
    for span in spans:
        context = span.get_span_context()
        if context is None:
            continue
        parent = span.parent
        out.append(
            Span(
                trace_id=format_trace_id(context.trace_id),
                span_id=format_span_id(context.span_id),
                parent_id=format_span_id(parent.span_id) if parent is not None else None,
                name=span.name,
                kind=span.kind.name,
                start_ns=span.start_time,
                end_ns=span.end_time,
                status=span.status.status_code.name,
                status_message=span.status.description or "",
                attributes=_attributes(span.attributes),
                resource=_attributes(span.resource.attributes),
                scope=span.instrumentation_scope.name if span.instrumentation_scope else "",
            )
        )
    return out

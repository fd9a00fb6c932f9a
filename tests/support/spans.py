"""Span ids for comparing parents in tests (trees, lookups by name and shapes come from ``lc_otel.testing``)."""

from __future__ import annotations

from opentelemetry.sdk.trace import ReadableSpan


def span_id(span: ReadableSpan) -> int:
    """Return the span's id."""
    assert span.context is not None
    return span.context.span_id


def trace_id(span: ReadableSpan) -> int:
    """Return the span's trace id."""
    assert span.context is not None
    return span.context.trace_id


def parent_id(span: ReadableSpan) -> int | None:
    """Return the parent span id, or ``None`` for a root."""
    return span.parent.span_id if span.parent is not None else None

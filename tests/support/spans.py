"""Read finished spans as plain trees, so tests can compare whole traces."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

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


def by_name(spans: Iterable[ReadableSpan], name: str) -> ReadableSpan:
    """Return the only span called ``name``."""
    found = [s for s in spans if s.name == name]
    assert len(found) == 1, f"{len(found)} spans named {name!r} in {[s.name for s in spans]}"
    return found[0]


def trees(spans: Sequence[ReadableSpan]) -> list[tuple[str, list[Any]]]:
    """Nest spans by parent id: ``[(name, [children...])]``, roots and children in start order.

    A span whose parent is not among ``spans`` counts as a root.
    """
    ids = {span_id(s) for s in spans}
    children: dict[int | None, list[ReadableSpan]] = defaultdict(list)
    for span in sorted(spans, key=lambda s: (s.start_time or 0, s.name)):
        parent = parent_id(span)
        children[parent if parent in ids else None].append(span)

    def build(span: ReadableSpan) -> tuple[str, list[Any]]:
        return (span.name, [build(child) for child in children[span_id(span)]])

    return [build(root) for root in children[None]]


def shape(tree: tuple[str, list[Any]]) -> Any:
    """Turn a tree into a comparable, order-insensitive form: ``(name, sorted children)``."""
    name, kids = tree
    return (name, sorted((shape(k) for k in kids), key=repr))

"""``capture_spans()``: trace LangChain runs into memory and read the spans back as trees."""

from __future__ import annotations

import dataclasses
import threading
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeAlias

from langchain_core.tracers.context import register_configure_hook
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from lc_otel._instrument import suppress_tracing
from lc_otel._settings import Settings
from lc_otel.handler import OpenTelemetryCallbackHandler

Shape: TypeAlias = "str | tuple[str, Sequence[Shape]]"
"""A span tree by names: ``"name"`` for a span without children, ``("name", [child, ...])`` otherwise."""

_Normal: TypeAlias = "tuple[str, list[_Normal]]"


@dataclasses.dataclass(frozen=True)
class SpanNode:
    """A finished span and its children (in start order), as :meth:`CapturedSpans.trees` returns them."""

    span: ReadableSpan
    children: tuple[SpanNode, ...] = ()

    @property
    def name(self) -> str:
        """The span's name."""
        return self.span.name

    @property
    def attributes(self) -> dict[str, Any]:
        """The span's attributes, as a plain dict."""
        return dict(self.span.attributes or {})

    def walk(self) -> Iterator[SpanNode]:
        """This node, then every node below it, depth first."""
        yield self
        for child in self.children:
            yield from child.walk()

    def find(self, name: str) -> SpanNode:
        """Return the only node called ``name`` in this subtree (this node included).

        Raises:
            AssertionError: When there is no such node, or more than one.
        """
        found = [node for node in self.walk() if node.name == name]
        if len(found) != 1:
            raise AssertionError(f"{len(found)} spans named {name!r} in:\n{self.draw()}")
        return found[0]

    def shape(self, *, ordered: bool = True) -> tuple[str, list[Any]]:
        """The tree by names: ``(name, [child shapes])``; with ``ordered=False`` siblings are sorted."""
        children = [child.shape(ordered=ordered) for child in self.children]
        return (self.name, children if ordered else sorted(children, key=repr))

    def as_dict(self) -> dict[str, Any]:
        """The tree as nested dicts: ``name``, ``attributes``, ``status`` (``UNSET``/``OK``/``ERROR``), ``children``."""
        return {
            "name": self.name,
            "attributes": self.attributes,
            "status": self.span.status.status_code.name,
            "children": [child.as_dict() for child in self.children],
        }

    def draw(self) -> str:
        """The tree by names, one span a line, indented by depth."""
        return _draw([self.shape()])


def span_trees(spans: Iterable[ReadableSpan]) -> list[SpanNode]:
    """Nest finished spans by parent id; roots and children in start order.

    A span whose parent is not among ``spans`` (the application's own span, say) counts as a root.
    """
    ordered = sorted(spans, key=lambda span: (span.start_time or 0, span.name))
    ids = {span.context.span_id for span in ordered if span.context is not None}
    children: dict[int | None, list[ReadableSpan]] = defaultdict(list)
    for span in ordered:
        parent = span.parent.span_id if span.parent is not None else None
        children[parent if parent in ids else None].append(span)

    def build(span: ReadableSpan) -> SpanNode:
        below = children.get(span.context.span_id, []) if span.context is not None else []
        return SpanNode(span, tuple(build(child) for child in below))

    return [build(root) for root in children[None]]


def find_span(spans: Iterable[ReadableSpan], name: str) -> ReadableSpan:
    """Return the only span called ``name``.

    Raises:
        AssertionError: When there is no such span, or more than one (the message lists the names there are).
    """
    every = list(spans)
    found = [span for span in every if span.name == name]
    if len(found) != 1:
        raise AssertionError(f"{len(found)} spans named {name!r} among {sorted(span.name for span in every)}")
    return found[0]


def assert_span_trees(spans: Iterable[ReadableSpan], *expected: Shape, ordered: bool = True) -> None:
    """Assert that ``spans`` form exactly the trees ``expected``, one :data:`Shape` per root.

    Args:
        spans: Finished spans.
        *expected: The trees by names, roots in start order.
        ordered: Compare siblings in start order; ``False`` ignores their order (runs that overlap, such as
            the branches of a ``RunnableParallel``, start in no fixed order).

    Raises:
        AssertionError: With both trees drawn, when they differ.
    """
    __tracebackhide__ = True
    actual = [node.shape(ordered=ordered) for node in span_trees(spans)]
    wanted = [_normal(shape, ordered) for shape in expected]
    if actual != wanted:
        raise AssertionError(f"span trees differ\nexpected:\n{_draw(wanted)}\nactual:\n{_draw(actual)}")


def _normal(shape: Shape, ordered: bool) -> _Normal:
    if isinstance(shape, str):
        return (shape, [])
    name, children = shape
    normal = [_normal(child, ordered) for child in children]
    return (name, normal if ordered else sorted(normal, key=repr))


def _draw(trees: Sequence[tuple[str, list[Any]]], depth: int = 0) -> str:
    lines: list[str] = []
    for name, children in trees:
        lines.append("  " * depth + name)
        if children:
            lines.append(_draw(children, depth + 1))
    return "\n".join(lines) if lines else "  " * depth + "(no spans)"


class CapturedSpans:
    """What :func:`capture_spans` yields: the handler it traces with and the spans that have finished."""

    def __init__(self, handler: OpenTelemetryCallbackHandler, provider: TracerProvider) -> None:
        self.exporter = InMemorySpanExporter()
        """Where finished spans go, synchronously as each ends."""
        provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        self.provider = provider
        """The in-memory provider (never the global one)."""
        self.handler = handler
        """The handler: pass it explicitly to runs the block does not reach (a raw thread started elsewhere)."""

    @property
    def spans(self) -> tuple[ReadableSpan, ...]:
        """The spans finished so far, in the order they ended."""
        return self.exporter.get_finished_spans()

    def trees(self) -> list[SpanNode]:
        """The finished spans nested by parent: one :class:`SpanNode` per root, in start order."""
        return span_trees(self.spans)

    def tree(self) -> SpanNode:
        """The one tree there is.

        Raises:
            AssertionError: When the finished spans form no tree or more than one.
        """
        trees = self.trees()
        if len(trees) != 1:
            raise AssertionError(f"{len(trees)} span trees:\n{_draw([tree.shape() for tree in trees])}")
        return trees[0]

    def find(self, name: str) -> ReadableSpan:
        """Return the only finished span called ``name`` (an ``AssertionError`` if there are none or several)."""
        return find_span(self.spans, name)

    def find_all(self, name: str) -> list[ReadableSpan]:
        """Every finished span called ``name``, in the order they ended."""
        return [span for span in self.spans if span.name == name]

    def assert_shape(self, *expected: Shape, ordered: bool = True) -> None:
        """Assert the finished spans form exactly the trees ``expected``: see :func:`assert_span_trees`."""
        __tracebackhide__ = True
        assert_span_trees(self.spans, *expected, ordered=ordered)

    def clear(self) -> None:
        """Forget the spans finished so far."""
        self.exporter.clear()


# The handler of the innermost capture_spans() block in this context: LangChain adds it to every run started
# there, the way lc_otel.instrument() adds the process-wide one (a configure hook cannot be removed, so there is
# one for all blocks, registered on first use).
_capturing: ContextVar[OpenTelemetryCallbackHandler | None] = ContextVar("lc_otel_capture_spans", default=None)
_hook_lock = threading.Lock()
_hooked = False


def _hook() -> None:
    global _hooked  # noqa: PLW0603 - LangChain's hooks are process-wide
    with _hook_lock:
        if not _hooked:
            register_configure_hook(_capturing, True, OpenTelemetryCallbackHandler)
            _hooked = True


@contextmanager
def capture_spans(*, settings: Settings | None = None, **options: Any) -> Iterator[CapturedSpans]:
    """Trace the LangChain runs started in the block into memory; yield them as :class:`CapturedSpans`.

    Every run started inside the block (in this thread or task, and in what LangChain or asyncio starts from
    it) is traced by a handler on an in-memory provider, without passing callbacks, like
    :func:`lc_otel.instrument` but only here; the process-wide handler, if any, is left out for the block.
    A run given an lc_otel handler explicitly is traced by that one instead (pass ``captured.handler``).
    A plain ``with`` works around async code too (``await chain.ainvoke(...)`` in the block).

    Args:
        settings: The handler's settings; the defaults when ``None`` (content capture off), whatever the
            environment says, so a test gives the same spans on every machine.
        **options: Other :class:`~lc_otel.OpenTelemetryCallbackHandler` options (``capture_content=True``, ...).

    Yields:
        The capture: ``spans``, ``trees()``, ``tree()``, ``find(name)``, ``assert_shape(...)``.
    """
    _hook()
    provider = TracerProvider()
    handler = OpenTelemetryCallbackHandler(provider, settings=settings or Settings(), **options)
    captured = CapturedSpans(handler, provider)
    token = _capturing.set(handler)
    try:
        with suppress_tracing():
            yield captured
    finally:
        _capturing.reset(token)


__all__ = [
    "CapturedSpans",
    "Shape",
    "SpanNode",
    "assert_span_trees",
    "capture_spans",
    "find_span",
    "span_trees",
]

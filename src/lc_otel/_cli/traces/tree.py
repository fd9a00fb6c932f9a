"""Draw traces as trees in a terminal: name, duration, tokens and status of every span.

Colour is used only when the stream is a terminal and ``NO_COLOR`` is unset (https://no-color.org).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Collection, Iterable, Mapping
from typing import TextIO

from lc_otel._attributes import semconv as sc
from lc_otel._cli.terminal import shorten, write_text
from lc_otel._cli.traces.model import STATUS_ERROR, AttrValue, Span

_RESET = "\033[0m"
_BOLD = "\033[1m"
_DIM = "\033[2m"
_RED = "\033[31m"
_GREEN = "\033[32m"
_YELLOW = "\033[33m"
_CYAN = "\033[36m"
NAME_LIMIT = 200
"""Longest span name, service name or status message drawn, in characters (``--json`` has them whole)."""
MAX_DRAWN_DEPTH = 40
"""Levels of tree guides drawn; deeper spans say their depth instead of indenting further."""


def use_color(stream: TextIO) -> bool:
    """Whether to colour output written to ``stream``."""
    if os.environ.get("NO_COLOR"):
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def _can_encode(stream: TextIO, text: str) -> bool:
    try:
        text.encode(getattr(stream, "encoding", None) or "utf-8")
    except (UnicodeEncodeError, LookupError):
        return False
    return True


@dataclasses.dataclass
class Node:
    """A span and its children, oldest child first."""

    span: Span
    children: list[Node] = dataclasses.field(default_factory=list)


def build_tree(spans: Iterable[Span]) -> list[Node]:
    """Nest the spans of one trace by parent id; spans whose parent is missing become roots.

    Corrupt data may make parents form a cycle; the spans on a cycle become roots. Linear in the number of
    spans, whatever the depth.
    """
    nodes: list[Node] = []
    index_of: dict[str, int] = {}
    for span in spans:
        first = index_of.get(span.span_id)
        if first is not None and nodes[first].span == span:
            continue  # the same span delivered twice
        nodes.append(Node(span))
        index_of.setdefault(span.span_id, len(nodes) - 1)
    parents = [index_of.get(node.span.parent_id, -1) if node.span.parent_id else -1 for node in nodes]
    parents = [-1 if parent == index else parent for index, parent in enumerate(parents)]
    on_cycle = _cycle_members(parents)
    roots: list[Node] = []
    for index, node in enumerate(nodes):
        parent = parents[index]
        if parent < 0 or index in on_cycle:
            roots.append(node)
        else:
            nodes[parent].children.append(node)
    for node in nodes:
        node.children.sort(key=_start_key)
    roots.sort(key=_start_key)
    return roots


def _cycle_members(parents: list[int]) -> set[int]:
    """The indices that lie on a cycle of parent links (each index has at most one parent, ``-1`` for none)."""
    state = [0] * len(parents)  # 0: not seen, 1: on the path being walked, 2: done
    members: set[int] = set()
    for start in range(len(parents)):
        path: list[int] = []
        current = start
        while current >= 0 and state[current] == 0:
            state[current] = 1
            path.append(current)
            current = parents[current]
        if current >= 0 and state[current] == 1:  # the walk came back onto itself
            members.update(path[path.index(current) :])
        for index in path:
            state[index] = 2
    return members


def _start_key(node: Node) -> int:
    # Sorting is stable: spans that start together keep the order the source gave them.
    return node.span.start_ns if node.span.start_ns is not None else 0


def format_duration(nanos: int | None) -> str:
    """``0.42 ms``, ``12.3 ms``, ``1.25 s``; ``?`` when unknown."""
    if nanos is None:
        return "?"
    millis = nanos / 1e6
    if millis < 10:
        return f"{millis:.2f} ms"
    if millis < 1000:
        return f"{millis:.1f} ms"
    return f"{millis / 1000:.2f} s"


def _int_attr(attributes: Mapping[str, AttrValue], *keys: str) -> int | None:
    for key in keys:
        value = attributes.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return None


def token_counts(span: Span) -> tuple[int | None, int | None]:
    """Input and output tokens: a model call's own, else the subtree totals lc_otel puts on chains."""
    attrs = span.attributes
    return (
        _int_attr(attrs, sc.GEN_AI_USAGE_INPUT_TOKENS, sc.USAGE_INPUT_TOKENS),
        _int_attr(attrs, sc.GEN_AI_USAGE_OUTPUT_TOKENS, sc.USAGE_OUTPUT_TOKENS),
    )


@dataclasses.dataclass(frozen=True)
class _Style:
    color: bool

    def __call__(self, code: str, text: str) -> str:
        return f"{code}{text}{_RESET}" if self.color else text


def _line(span: Span, style: _Style, *, matched: bool, parent_service: str | None) -> str:
    parts = [style(_BOLD, shorten(span.name, NAME_LIMIT) if span.name else "(unnamed)")]
    if matched:
        parts[0] = style(_YELLOW, "» ") + parts[0]
    parts.append(style(_DIM, format_duration(span.duration_ns)))
    tokens_in, tokens_out = token_counts(span)
    if tokens_in is not None or tokens_out is not None:
        shown = f"tokens {tokens_in if tokens_in is not None else '?'}→{tokens_out if tokens_out is not None else '?'}"
        parts.append(style(_CYAN, shown))
    if span.status == STATUS_ERROR:
        message = f"ERROR {shorten(span.status_message)}".rstrip()
        parts.append(style(_RED, message))
    elif span.status == "OK":
        parts.append(style(_GREEN, "OK"))
    if span.service and span.service != parent_service:
        parts.append(style(_DIM, f"[{shorten(span.service, NAME_LIMIT)}]"))
    return "  ".join(parts)


def render_trace(
    spans: Iterable[Span], *, color: bool = False, ascii_only: bool = False, matched: Collection[str] = ()
) -> list[str]:
    """The lines that draw one trace: a header, then one line per span.

    Every text from the spans is escaped (:func:`~lc_otel._cli.terminal.printable`) and cut to a line, so a
    span can neither forge lines nor send terminal commands. Deep trees are drawn without recursion; below
    :data:`MAX_DRAWN_DEPTH` levels the guides stop growing and each line says its depth instead.

    Args:
        spans: The spans of one trace.
        color: Add ANSI colours.
        ascii_only: Draw branches with ASCII characters.
        matched: Span ids to mark as search hits.
    """
    roots = build_tree(spans)
    if not roots:
        return []
    style = _Style(color)
    all_spans = [node.span for node in _walk(roots)]
    starts = [s.start_ns for s in all_spans if s.start_ns is not None]
    ends = [s.end_ns for s in all_spans if s.end_ns is not None]
    total = max(ends) - min(starts) if starts and ends else None
    errors = sum(1 for s in all_spans if s.status == STATUS_ERROR)
    header = [style(_BOLD, f"trace {shorten(roots[0].span.trace_id, NAME_LIMIT)}")]
    service = roots[0].span.service
    if service:
        header.append(f"service {shorten(service, NAME_LIMIT)}")
    header.append(f"{len(all_spans)} span{'s' if len(all_spans) != 1 else ''}")
    header.append(format_duration(total))
    if errors:
        header.append(style(_RED, f"{errors} error{'s' if errors != 1 else ''}"))
    lines = ["  ".join(header)]
    branch, last, pipe, blank = ("|- ", "`- ", "|  ", "   ") if ascii_only else ("├─ ", "└─ ", "│  ", "   ")

    # (node, guides before its branch, last among its siblings, its parent's service, depth)
    stack: list[tuple[Node, str, bool, str | None, int]] = [
        (root, "", index == len(roots) - 1, service, 0) for index, root in reversed(list(enumerate(roots)))
    ]
    while stack:
        node, prefix, is_last, parent_service, depth = stack.pop()
        deep = f"(depth {depth}) " if depth >= MAX_DRAWN_DEPTH else ""
        line = _line(node.span, style, matched=node.span.span_id in matched, parent_service=parent_service)
        lines.append(prefix + (last if is_last else branch) + deep + line)
        child_prefix = prefix + (blank if is_last else pipe) if depth < MAX_DRAWN_DEPTH else prefix
        count = len(node.children)
        for index in range(count - 1, -1, -1):
            stack.append((node.children[index], child_prefix, index == count - 1, node.span.service, depth + 1))
    return lines


def _walk(nodes: Iterable[Node]) -> Iterable[Node]:
    stack = list(nodes)
    while stack:
        node = stack.pop()
        yield node
        stack.extend(node.children)


def write_traces(
    traces: Iterable[Iterable[Span]],
    stream: TextIO,
    *,
    matched: Collection[tuple[str, str]] = (),
) -> None:
    """Write traces as trees to ``stream``, a blank line between traces, colour when it is a terminal."""
    color = use_color(stream)
    ascii_only = not _can_encode(stream, "├─└│→»")
    first = True
    for spans in traces:
        group = list(spans)
        hits = {span_id for trace_id, span_id in matched if group and trace_id == group[0].trace_id}
        lines = render_trace(group, color=color, ascii_only=ascii_only, matched=hits)
        if not lines:
            continue
        if not first:
            stream.write("\n")
        first = False
        text = "\n".join(lines) + "\n"
        if ascii_only:
            text = text.replace("→", "->").replace("» ", "> ")
        write_text(stream, text)

"""What ``lc-otel traces`` looks for, and the client-side match that every source shares.

Jaeger already filters on the server; the same match runs again on what it returns, because a Jaeger search
returns whole traces (every span of a trace with one matching span) and older servers ignore attribute
filters. The match is also the whole search for a local file.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Iterable

from lc_otel._attributes.tags_metadata import tag_key
from lc_otel._cli.traces.model import STATUS_ERROR, AttrValue, Span

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}
_INT = re.compile(r"[+-]?\d+")


def parse_duration(text: str) -> float:
    """Parse ``90s``, ``15m``, ``1h30m``, ``2d``, ``1w`` into seconds.

    Raises:
        ValueError: ``text`` is not such a duration, or is zero.
    """
    compact = text.strip().lower().replace(" ", "")
    parts = _DURATION_PART.findall(compact)
    if not compact or "".join(number + unit for number, unit in parts) != compact:
        raise ValueError(f"not a duration: {text!r} (examples: 30s, 15m, 1h, 2d)")
    seconds = sum(float(number) * _UNIT_SECONDS[unit] for number, unit in parts)
    if seconds <= 0:
        raise ValueError(f"duration must be positive: {text!r}")
    return seconds


def parse_value(text: str) -> AttrValue:
    """Type a command-line value: ``true``/``false`` → bool, integers → int, numbers → float, else str."""
    lowered = text.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if _INT.fullmatch(text.strip()):
        return int(text)
    try:
        number = float(text)
    except ValueError:
        return text
    return number if math.isfinite(number) else text


@dataclasses.dataclass(frozen=True)
class AttrFilter:
    """``KEY=VALUE`` from the command line: the text as typed and its typed reading."""

    key: str
    text: str

    @property
    def value(self) -> AttrValue:
        """The typed value."""
        return parse_value(self.text)

    @classmethod
    def parse(cls, spec: str) -> AttrFilter:
        """Split ``KEY=VALUE`` at the first ``=``.

        Raises:
            ValueError: there is no ``=`` or no key.
        """
        key, sep, text = spec.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"expected KEY=VALUE, got {spec!r}")
        return cls(key.strip(), text)

    def server_form(self) -> str | None:
        """The string Jaeger compares with, or ``None`` when Jaeger's string form is not predictable.

        Jaeger compares every attribute by its string form; floats print differently per storage backend,
        so they are matched on the client only.
        """
        value = self.value
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, float):
            return None
        return str(value) if isinstance(value, int) else self.text


def _scalar_matches(actual: AttrValue, wanted: AttrValue, text: str) -> bool:
    if isinstance(actual, bool) or isinstance(wanted, bool):
        if isinstance(actual, bool) and isinstance(wanted, bool):
            return actual is wanted
        return str(actual).lower() == text.strip().lower()
    if isinstance(actual, (int, float)) and isinstance(wanted, (int, float)):
        return actual == wanted
    if isinstance(actual, (int, float)):
        return str(actual) == text.strip()
    return isinstance(actual, str) and actual == text


def value_matches(actual: AttrValue, flt: AttrFilter) -> bool:
    """Whether an attribute value matches a filter; an array matches when one of its elements does."""
    if isinstance(actual, list):
        return any(value_matches(item, flt) for item in actual)
    if isinstance(actual, dict):
        return False
    return _scalar_matches(actual, flt.value, flt.text)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Query:
    """A span search: every condition must hold on the same span."""

    service: str | None = None
    tags: tuple[str, ...] = ()
    attrs: tuple[AttrFilter, ...] = ()
    since_seconds: float | None = None
    limit: int = 20
    """At most this many traces, newest first."""

    def filters(self) -> tuple[AttrFilter, ...]:
        """Tags and attributes as one list of attribute filters (``--tag t`` is ``langchain.tag.t=true``)."""
        return tuple(AttrFilter(tag_key(tag), "true") for tag in self.tags) + self.attrs

    def server_attributes(self) -> dict[str, str]:
        """The ``{"key": "value"}`` map Jaeger's search takes (``query.attributes`` / ``tags``)."""
        out: dict[str, str] = {}
        for flt in self.filters():
            form = flt.server_form()
            if form is not None:
                out[flt.key] = form
        return out

    def matches(self, span: Span, *, now_ns: int) -> bool:
        """Whether ``span`` satisfies every condition."""
        if self.service is not None and span.service != self.service:
            return False
        if self.since_seconds is not None:
            started = span.start_ns if span.start_ns is not None else span.end_ns
            # A --since longer than the time since 1970 (9999999999w overflows to infinity) means everything.
            cutoff = now_ns - int(min(self.since_seconds, now_ns / 1e9) * 1e9)
            if started is None or started < cutoff:
                return False
        return all(_span_matches(span, flt) for flt in self.filters())


def _span_matches(span: Span, flt: AttrFilter) -> bool:
    if flt.key in span.attributes:
        return value_matches(span.attributes[flt.key], flt)
    if flt.key == "error" and isinstance(flt.value, bool):
        # Jaeger's own convention: error=true finds spans whose status is ERROR.
        return (span.status == STATUS_ERROR) is flt.value
    if flt.key in span.resource:
        return value_matches(span.resource[flt.key], flt)
    return False


@dataclasses.dataclass(frozen=True)
class SearchResult:
    """The traces that hold at least one matching span, and which spans matched."""

    traces: list[list[Span]]
    """Each trace's spans, newest trace first."""
    matched: frozenset[tuple[str, str]]
    """``(trace_id, span_id)`` of every matching span."""


def search(query: Query, spans: Iterable[Span], *, now_ns: int) -> SearchResult:
    """Group spans into traces and keep the newest ``query.limit`` traces that contain a match."""
    by_trace: dict[str, list[Span]] = {}
    matched: set[tuple[str, str]] = set()
    for span in spans:
        by_trace.setdefault(span.trace_id, []).append(span)
        if query.matches(span, now_ns=now_ns):
            matched.add((span.trace_id, span.span_id))
    hits = {trace_id for trace_id, _ in matched}
    traces = [group for trace_id, group in by_trace.items() if trace_id in hits]
    traces.sort(key=_trace_start, reverse=True)
    kept = traces[: query.limit]
    kept_ids = {group[0].trace_id for group in kept}
    return SearchResult(kept, frozenset(m for m in matched if m[0] in kept_ids))


def _trace_start(spans: list[Span]) -> int:
    return min((s.start_ns for s in spans if s.start_ns is not None), default=0)

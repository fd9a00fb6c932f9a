"""Jaeger's v1 (internal, UI-model) trace JSON → :class:`Span`.

The v1 model folds OTLP status, kind and scope into synthetic tags (``otel.status_code``, ``error``,
``span.kind``, ``otel.scope.name`` or, before Jaeger 1.61, ``otel.library.name``); they are turned back
into span fields so that a span looks the same whichever API it came through.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lc_otel._cli.traces.model import STATUS_ERROR, STATUS_OK, STATUS_UNSET, AttrValue, Span
from lc_otel._cli.traces.otlp_json import FormatError, hex_id, text, time_ns

_SYNTHETIC = frozenset(
    {
        "otel.status_code",
        "otel.status_description",
        "error",
        "span.kind",
        "otel.scope.name",
        "otel.scope.version",
        "otel.library.name",
        "otel.library.version",
    }
)


def _tag_value(tag: Mapping[str, Any]) -> AttrValue:
    value = tag.get("value")
    if tag.get("type") == "int64" and isinstance(value, str):
        # Jaeger sends integers beyond 2**53 as strings so JavaScript keeps every digit.
        try:
            return int(value)
        except ValueError:
            return value
    if isinstance(value, (str, bool, int, float)) or value is None:
        return value
    raise FormatError(f"tag {text(tag.get('key'), 'tag key')[:60]!r} has a value of an unknown shape")


def _tags(raw: Any) -> dict[str, AttrValue]:
    if raw is None:
        return {}
    if not isinstance(raw, list):
        raise FormatError("'tags' is not a list")
    out: dict[str, AttrValue] = {}
    for tag in raw:
        if not isinstance(tag, Mapping) or not isinstance(tag.get("key"), str):
            raise FormatError("a tag has no key")
        out[tag["key"]] = _tag_value(tag)
    return out


def _id(raw: Any, what: str) -> str:
    return hex_id(raw, what) if raw not in (None, "") else ""


def _parent(span: Mapping[str, Any], trace_id: str) -> str | None:
    references = span.get("references") or []
    if not isinstance(references, list):
        raise FormatError("'references' is not a list")
    for ref in references:
        if not isinstance(ref, Mapping):
            raise FormatError("a reference is not an object")
        # Only a CHILD_OF reference inside the same trace is a parent; links and cross-trace refs are not.
        if ref.get("refType") == "CHILD_OF" and _id(ref.get("traceID"), "traceID") == trace_id:
            return _id(ref.get("spanID"), "spanID") or None
    legacy = span.get("parentSpanID")
    return _id(legacy, "parentSpanID") or None


def _status(tags: Mapping[str, AttrValue]) -> str:
    code = tags.get("otel.status_code")
    if code == STATUS_ERROR or tags.get("error") is True or tags.get("error") == "true":
        return STATUS_ERROR
    if code == STATUS_OK:
        return STATUS_OK
    return STATUS_UNSET


def _micros(raw: Any, what: str) -> int | None:
    # Microseconds in v1; kept only when they make a nanosecond time OTLP could carry.
    if raw is None:
        return None
    if not isinstance(raw, int) or isinstance(raw, bool):
        raise FormatError(f"{what} is not an integer")
    return time_ns(raw * 1000, what)


def _processes(raw: Any) -> dict[str, dict[str, AttrValue]]:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise FormatError("'processes' is not an object")
    processes: dict[str, dict[str, AttrValue]] = {}
    for process_id, process in raw.items():
        if not isinstance(process, Mapping):
            raise FormatError("a process is not an object")
        resource = _tags(process.get("tags"))
        resource["service.name"] = text(process.get("serviceName"), "serviceName")
        processes[process_id] = resource
    return processes


def parse_v1_trace(trace: Any) -> list[Span]:
    """Turn one element of the ``data`` array of ``GET /api/traces`` into spans.

    Raises:
        FormatError: ``trace`` is not shaped like a v1 trace.
    """
    if not isinstance(trace, Mapping) or not isinstance(trace.get("spans"), list):
        raise FormatError("not a Jaeger v1 trace (no 'spans')")
    processes = _processes(trace.get("processes"))
    spans: list[Span] = []
    for raw in trace["spans"]:
        if not isinstance(raw, Mapping):
            raise FormatError("a span is not an object")
        trace_id = hex_id(raw.get("traceID"), "traceID")
        tags = _tags(raw.get("tags"))
        start_ns = _micros(raw.get("startTime"), "startTime")
        duration_ns = _micros(raw.get("duration"), "duration")
        kind = tags.get("span.kind")
        spans.append(
            Span(
                trace_id=trace_id,
                span_id=hex_id(raw.get("spanID"), "spanID"),
                parent_id=_parent(raw, trace_id),
                name=text(raw.get("operationName"), "operationName"),
                kind=kind.upper() if isinstance(kind, str) else "INTERNAL",
                start_ns=start_ns,
                end_ns=start_ns + duration_ns if start_ns is not None and duration_ns is not None else None,
                status=_status(tags),
                status_message=text(tags.get("otel.status_description"), "otel.status_description"),
                attributes={k: v for k, v in tags.items() if k not in _SYNTHETIC},
                resource=processes.get(text(raw.get("processID"), "processID"), {}),
                scope=text(tags.get("otel.scope.name") or tags.get("otel.library.name"), "otel.scope.name"),
            )
        )
    return spans


def parse_v1_response(body: Any) -> list[Span]:
    """Turn the envelope ``{"data": [<trace>, ...], ...}`` of ``GET /api/traces`` into spans.

    Raises:
        FormatError: ``body`` is not shaped like a v1 search answer.
    """
    if not isinstance(body, Mapping) or "data" not in body:
        raise FormatError("not a Jaeger v1 response (no 'data')")
    data = body["data"] or []
    if not isinstance(data, list):
        raise FormatError("'data' is not a list")
    spans: list[Span] = []
    for trace in data:
        spans.extend(parse_v1_trace(trace))
    return spans

"""Jaeger's v1 (internal, UI-model) trace JSON → :class:`Span`.

The v1 model folds OTLP status, kind and scope into synthetic tags (``otel.status_code``, ``error``,
``span.kind``, ``otel.scope.name`` or, before Jaeger 1.61, ``otel.library.name``); they are turned back
into span fields so that a span looks the same whichever API it came through.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lc_otel._cli.traces.model import STATUS_ERROR, STATUS_OK, STATUS_UNSET, AttrValue, Span
from lc_otel._cli.traces.otlp_json import FormatError

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
    raise FormatError(f"tag {tag.get('key')!r} has a value of an unknown shape")


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


def _parent(span: Mapping[str, Any], trace_id: str) -> str | None:
    references = span.get("references") or []
    for ref in references:
        # Only a CHILD_OF reference inside the same trace is a parent; links and cross-trace refs are not.
        if ref.get("refType") == "CHILD_OF" and str(ref.get("traceID", "")).lower() == trace_id:
            return str(ref.get("spanID", "")).lower() or None
    legacy = span.get("parentSpanID")
    return str(legacy).lower() if legacy else None


def _status(tags: Mapping[str, AttrValue]) -> str:
    code = tags.get("otel.status_code")
    if code == STATUS_ERROR or tags.get("error") is True or tags.get("error") == "true":
        return STATUS_ERROR
    if code == STATUS_OK:
        return STATUS_OK
    return STATUS_UNSET


def parse_v1_trace(trace: Any) -> list[Span]:
    """Turn one element of the ``data`` array of ``GET /api/traces`` into spans.

    Raises:
        FormatError: ``trace`` is not shaped like a v1 trace.
    """
    if not isinstance(trace, Mapping) or not isinstance(trace.get("spans"), list):
        raise FormatError("not a Jaeger v1 trace (no 'spans')")
    processes: dict[str, dict[str, AttrValue]] = {}
    for process_id, process in (trace.get("processes") or {}).items():
        resource = _tags(process.get("tags"))
        resource["service.name"] = str(process.get("serviceName", ""))
        processes[process_id] = resource
    spans: list[Span] = []
    for raw in trace["spans"]:
        if not isinstance(raw, Mapping):
            raise FormatError("a span is not an object")
        trace_id = str(raw.get("traceID", "")).lower()
        tags = _tags(raw.get("tags"))
        start_us = raw.get("startTime")
        duration_us = raw.get("duration")
        start_ns = int(start_us) * 1000 if isinstance(start_us, int) else None
        kind = tags.get("span.kind")
        spans.append(
            Span(
                trace_id=trace_id,
                span_id=str(raw.get("spanID", "")).lower(),
                parent_id=_parent(raw, trace_id),
                name=str(raw.get("operationName", "")),
                kind=kind.upper() if isinstance(kind, str) else "INTERNAL",
                start_ns=start_ns,
                end_ns=start_ns + int(duration_us) * 1000
                if start_ns is not None and isinstance(duration_us, int)
                else None,
                status=_status(tags),
                status_message=str(tags.get("otel.status_description", "")),
                attributes={k: v for k, v in tags.items() if k not in _SYNTHETIC},
                resource=processes.get(str(raw.get("processID", "")), {}),
                scope=str(tags.get("otel.scope.name") or tags.get("otel.library.name") or ""),
            )
        )
    return spans


def parse_v1_response(body: Any) -> list[Span]:
    """Turn the envelope ``{"data": [<trace>, ...], ...}`` of ``GET /api/traces`` into spans."""
    if not isinstance(body, Mapping) or "data" not in body:
        raise FormatError("not a Jaeger v1 response (no 'data')")
    spans: list[Span] = []
    for trace in body["data"] or []:
        spans.extend(parse_v1_trace(trace))
    return spans

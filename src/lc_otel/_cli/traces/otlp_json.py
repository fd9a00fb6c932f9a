"""OTLP/JSON ``TracesData`` → :class:`Span`: the file format ``lc-otel demo`` writes and Jaeger's v3 API returns.

The mapping follows the OTLP/JSON encoding: hex ids, 64-bit integers as JSON strings, enums as integers (the
protobuf enum names are accepted too), zero values left out.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from lc_otel._cli.traces.model import STATUS_ERROR, STATUS_OK, STATUS_UNSET, AttrValue, Span

_KINDS = {0: "UNSPECIFIED", 1: "INTERNAL", 2: "SERVER", 3: "CLIENT", 4: "PRODUCER", 5: "CONSUMER"}
_STATUSES = {0: STATUS_UNSET, 1: STATUS_OK, 2: STATUS_ERROR}


class FormatError(ValueError):
    """The JSON is valid but is not OTLP ``TracesData``."""


def _enum(raw: Any, names: Mapping[int, str], prefix: str, default: str) -> str:
    if raw is None:
        return default
    if isinstance(raw, int) and not isinstance(raw, bool):
        return names.get(raw, default)
    if isinstance(raw, str):
        # Protobuf JSON may spell enums by name: SPAN_KIND_CLIENT, STATUS_CODE_ERROR.
        short = raw.removeprefix(prefix)
        return short if short in names.values() else default
    raise FormatError(f"bad enum value {raw!r}")


def _int(raw: Any, what: str) -> int:
    if isinstance(raw, bool):
        raise FormatError(f"{what} is not an integer")
    try:
        return int(raw)
    except (TypeError, ValueError):
        raise FormatError(f"{what} is not an integer: {raw!r}") from None


def _float(raw: Any) -> float:
    if isinstance(raw, str):  # "NaN", "Infinity", "-Infinity" per the protobuf JSON mapping
        return float(raw)
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        return float(raw)
    raise FormatError(f"doubleValue is not a number: {raw!r}")


def any_value(raw: Any) -> AttrValue:
    """Decode one OTLP ``AnyValue`` object."""
    if not isinstance(raw, Mapping):
        raise FormatError("an attribute value is not an object")
    if "stringValue" in raw:
        return str(raw["stringValue"])
    if "boolValue" in raw:
        return bool(raw["boolValue"])
    if "intValue" in raw:
        return _int(raw["intValue"], "intValue")
    if "doubleValue" in raw:
        value = _float(raw["doubleValue"])
        return value if math.isfinite(value) else str(value)
    if "arrayValue" in raw:
        return [any_value(item) for item in _list(raw["arrayValue"], "values")]
    if "kvlistValue" in raw:
        return key_values(_list(raw["kvlistValue"], "values"))
    if "bytesValue" in raw:
        # Kept as base64 text, the way Jaeger's UI shows binary tags.
        return str(raw["bytesValue"])
    return None


def key_values(items: Sequence[Any]) -> dict[str, AttrValue]:
    """Decode a list of OTLP ``KeyValue`` objects into a dict (a repeated key keeps its last value)."""
    out: dict[str, AttrValue] = {}
    for item in items:
        if not isinstance(item, Mapping) or not isinstance(item.get("key"), str):
            raise FormatError("an attribute has no key")
        out[item["key"]] = any_value(item.get("value", {}))
    return out


def _list(container: Any, key: str) -> list[Any]:
    if container is None:
        return []
    if not isinstance(container, Mapping):
        raise FormatError(f"expected an object holding {key!r}")
    value = container.get(key, [])
    if value is None:
        return []
    if not isinstance(value, list):
        raise FormatError(f"{key!r} is not a list")
    return value


def _hex_id(raw: Any, what: str) -> str:
    if not isinstance(raw, str) or not raw:
        raise FormatError(f"span has no {what}")
    text = raw.lower()
    try:
        int(text, 16)
    except ValueError:
        raise FormatError(f"{what} is not hex: {raw!r}") from None
    return text


def _span(raw: Any, resource: Mapping[str, AttrValue], scope: str) -> Span:
    if not isinstance(raw, Mapping):
        raise FormatError("a span is not an object")
    parent = raw.get("parentSpanId") or None
    status = raw.get("status") or {}
    if not isinstance(status, Mapping):
        raise FormatError("span status is not an object")
    start = raw.get("startTimeUnixNano")
    end = raw.get("endTimeUnixNano")
    return Span(
        trace_id=_hex_id(raw.get("traceId"), "traceId"),
        span_id=_hex_id(raw.get("spanId"), "spanId"),
        parent_id=_hex_id(parent, "parentSpanId") if parent is not None else None,
        name=str(raw.get("name", "")),
        kind=_enum(raw.get("kind"), _KINDS, "SPAN_KIND_", "UNSPECIFIED"),
        start_ns=_int(start, "startTimeUnixNano") if start is not None else None,
        end_ns=_int(end, "endTimeUnixNano") if end is not None else None,
        status=_enum(status.get("code"), _STATUSES, "STATUS_CODE_", STATUS_UNSET),
        status_message=str(status.get("message", "")),
        attributes=key_values(_list(raw, "attributes")),
        resource=resource,
        scope=scope,
    )


def parse_traces_data(data: Any) -> list[Span]:
    """Turn one ``TracesData`` object into spans.

    Raises:
        FormatError: ``data`` is not shaped like ``TracesData``.
    """
    if not isinstance(data, Mapping) or "resourceSpans" not in data:
        raise FormatError("not OTLP TracesData (no 'resourceSpans')")
    spans: list[Span] = []
    for resource_spans in _list(data, "resourceSpans"):
        if not isinstance(resource_spans, Mapping):
            raise FormatError("a resourceSpans entry is not an object")
        resource = key_values(_list(resource_spans.get("resource") or {}, "attributes"))
        for scope_spans in _list(resource_spans, "scopeSpans"):
            if not isinstance(scope_spans, Mapping):
                raise FormatError("a scopeSpans entry is not an object")
            scope = scope_spans.get("scope") or {}
            scope_name = str(scope.get("name", "")) if isinstance(scope, Mapping) else ""
            spans.extend(_span(raw, resource, scope_name) for raw in _list(scope_spans, "spans"))
    return spans

"""OTLP/JSON ``TracesData`` → :class:`Span`: the file format ``lc-otel demo`` writes and Jaeger's v3 API returns.

The mapping follows the OTLP/JSON encoding: hex ids, 64-bit integers as JSON strings, enums as integers (the
protobuf enum names are accepted too), zero values left out.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

from lc_otel._cli.terminal import shorten
from lc_otel._cli.traces.model import STATUS_ERROR, STATUS_OK, STATUS_UNSET, AttrValue, Span

_KINDS = {0: "UNSPECIFIED", 1: "INTERNAL", 2: "SERVER", 3: "CLIENT", 4: "PRODUCER", 5: "CONSUMER"}
_STATUSES = {0: STATUS_UNSET, 1: STATUS_OK, 2: STATUS_ERROR}
_HEX = re.compile(r"[0-9a-fA-F]{1,64}")
_UINT64 = 2**64


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
    raise FormatError(f"bad enum value {_quote(raw)}")


def _quote(raw: Any) -> str:
    # A bad value quoted in a message: short, whatever its size.
    if isinstance(raw, str):
        return repr(raw[:60]) + ("..." if len(raw) > 60 else "")
    return shorten(repr(raw), 60) if isinstance(raw, (int, float)) else type(raw).__name__


def _int(raw: Any, what: str) -> int:
    if isinstance(raw, (str, int, float)) and not isinstance(raw, bool):
        try:
            return int(raw)
        except (ValueError, OverflowError):  # "abc", 1e400 (inf), NaN, 5,000 digits
            pass
    raise FormatError(f"{what} is not an integer: {_quote(raw)}")


def time_ns(raw: Any, what: str) -> int:
    """A timestamp in Unix nanoseconds: an unsigned 64-bit integer, as a JSON number or string."""
    value = _int(raw, what)
    if not 0 <= value < _UINT64:
        raise FormatError(f"{what} is out of range: {_quote(raw)}")
    return value


def _float(raw: Any) -> float:
    if isinstance(raw, (str, int, float)) and not isinstance(raw, bool):
        # Strings too: "NaN", "Infinity", "-Infinity" per the protobuf JSON mapping.
        try:
            return float(raw)
        except (ValueError, OverflowError):
            pass
    raise FormatError(f"doubleValue is not a number: {_quote(raw)}")


def _bool(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and raw.lower() in ("true", "false"):
        return raw.lower() == "true"
    raise FormatError(f"boolValue is not a boolean: {_quote(raw)}")


def text(raw: Any, what: str) -> str:
    """A string field; numbers and booleans are taken as their text, a missing value as ``""``."""
    if raw is None:
        return ""
    if isinstance(raw, str):
        return raw
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if isinstance(raw, (int, float)):
        return str(raw)
    raise FormatError(f"{what} is not a string: {_quote(raw)}")


def any_value(raw: Any) -> AttrValue:
    """Decode one OTLP ``AnyValue`` object."""
    if not isinstance(raw, Mapping):
        raise FormatError("an attribute value is not an object")
    if "stringValue" in raw:
        return text(raw["stringValue"], "stringValue")
    if "boolValue" in raw:
        return _bool(raw["boolValue"])
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
        return text(raw["bytesValue"], "bytesValue")
    return None


def key_values(items: Sequence[Any]) -> dict[str, AttrValue]:
    """Decode a list of OTLP ``KeyValue`` objects into a dict (a repeated key keeps its last value)."""
    out: dict[str, AttrValue] = {}
    for item in items:
        if not isinstance(item, Mapping) or not isinstance(item.get("key"), str):
            raise FormatError("an attribute has no key")
        value = item.get("value")
        out[item["key"]] = any_value(value if value is not None else {})  # no value: an empty AnyValue
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


def hex_id(raw: Any, what: str) -> str:
    """A trace or span id: 1 to 64 hex digits, returned in lowercase."""
    if not isinstance(raw, str) or not raw:
        raise FormatError(f"span has no {what}")
    if not _HEX.fullmatch(raw):
        raise FormatError(f"{what} is not hex: {_quote(raw)}")
    return raw.lower()


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
        trace_id=hex_id(raw.get("traceId"), "traceId"),
        span_id=hex_id(raw.get("spanId"), "spanId"),
        parent_id=hex_id(parent, "parentSpanId") if parent is not None else None,
        name=text(raw.get("name"), "name"),
        kind=_enum(raw.get("kind"), _KINDS, "SPAN_KIND_", "UNSPECIFIED"),
        start_ns=time_ns(start, "startTimeUnixNano") if start is not None else None,
        end_ns=time_ns(end, "endTimeUnixNano") if end is not None else None,
        status=_enum(status.get("code"), _STATUSES, "STATUS_CODE_", STATUS_UNSET),
        status_message=text(status.get("message"), "status message"),
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
            scope_name = text(scope.get("name"), "scope name") if isinstance(scope, Mapping) else ""
            spans.extend(_span(raw, resource, scope_name) for raw in _list(scope_spans, "spans"))
    return spans

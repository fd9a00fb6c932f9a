"""What leaves the process: finished spans encoded as the OTLP exporter sends them, and every string in them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.trace import ReadableSpan


def otlp_bytes(spans: Sequence[ReadableSpan]) -> bytes:
    """The spans as one OTLP export request, byte for byte what an OTLP exporter sends."""
    return encode_spans(spans).SerializeToString()


def _values(value: object) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Sequence) and not isinstance(value, bytes):
        for item in value:
            yield from _values(item)
    else:
        yield repr(value)


def exported_strings(spans: Iterable[ReadableSpan]) -> list[str]:
    """Every span name, attribute key and value, event name, event attribute and status description."""
    found: list[str] = []
    for span in spans:
        found.append(span.name)
        found.append(span.status.description or "")
        for key, value in (span.attributes or {}).items():
            found.append(key)
            found.extend(_values(value))
        for event in span.events:
            found.append(event.name)
            for key, value in (event.attributes or {}).items():
                found.append(key)
                found.extend(_values(value))
    return found


def assert_never_exported(spans: Sequence[ReadableSpan], *secrets: str) -> None:
    """Fail if any of ``secrets`` is in any exported string or in the OTLP bytes of ``spans``."""
    assert spans, "no span was exported"
    encoded = otlp_bytes(spans)
    strings = exported_strings(spans)
    for secret in secrets:
        assert secret.encode() not in encoded, f"{secret!r} is in the exported bytes"
        leaked = [text for text in strings if secret in text]
        assert not leaked, f"{secret!r} is exported in {leaked[:3]}"

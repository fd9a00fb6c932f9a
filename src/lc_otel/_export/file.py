"""The embedded default: spans to a local OTLP-JSON-lines file, without a backend and without an extra.

One line per export batch, each an OTLP ``ExportTraceServiceRequest`` in the OTLP/JSON encoding: the format
OpenTelemetry's file exporters write, that ``lc-otel traces --file``, the Collector's ``otlpjsonfile``
receiver and the Jaeger UI's upload read. The spans are encoded by ``opentelemetry-exporter-otlp-proto-common``
(a dependency of the OTLP exporters lc_otel already needs) and turned into JSON by protobuf's own mapping,
with the two OTLP/JSON departures from it applied: trace and span ids are hex, not base64, and enums are
integers. That works with every ``opentelemetry-sdk`` lc_otel supports, where the maintained
``opentelemetry-exporter-otlp-json-file`` package would pin the SDK's version.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Final

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

logger: Final = logging.getLogger("lc_otel")

_ENCODER_PACKAGE: Final = "opentelemetry-exporter-otlp-proto-common"
_ID_KEYS: Final = ("traceId", "spanId", "parentSpanId")


class EncoderMissingError(ImportError):
    """The OTLP encoder cannot be imported; the message says what to install."""


def _load_encoder() -> Callable[[Sequence[ReadableSpan]], dict[str, Any]]:
    """``spans -> OTLP/JSON dict``.

    Raises:
        EncoderMissingError: A broken install lacks the encoder (the OTLP exporters depend on it).
    """
    try:
        from google.protobuf.json_format import MessageToDict
        from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
    except ImportError as error:
        msg = f"{error}; install it with: pip install --upgrade {_ENCODER_PACKAGE}"
        raise EncoderMissingError(msg) from None

    def encode(spans: Sequence[ReadableSpan]) -> dict[str, Any]:
        # use_integers_for_enums: OTLP/JSON spells enums as integers; protobuf's int64-as-string and
        # camelCase keys are what OTLP/JSON asks for too.
        request: dict[str, Any] = MessageToDict(encode_spans(spans), use_integers_for_enums=True)
        _hex_ids(request)
        return request

    return encode


def _hex(value: object) -> object:
    """Protobuf's JSON mapping writes bytes as base64; OTLP/JSON writes trace and span ids as hex."""
    if not isinstance(value, str):
        return value
    try:
        return base64.b64decode(value, validate=True).hex()
    except ValueError:
        return value


def fix_ids(item: dict[str, Any]) -> None:
    """Rewrite the ids of one encoded span, span link or log record from base64 to hex, in place."""
    for key in _ID_KEYS:
        if key in item:
            item[key] = _hex(item[key])


def each(container: Mapping[str, Any], key: str) -> Iterable[dict[str, Any]]:
    """The items of ``container[key]`` (none when it is missing or not a list)."""
    values = container.get(key)
    return values if isinstance(values, list) else ()


def _hex_ids(request: dict[str, Any]) -> None:
    """Rewrite the ids of every span and span link of an encoded request in place."""
    for resource_spans in each(request, "resourceSpans"):
        for scope_spans in each(resource_spans, "scopeSpans"):
            for span in each(scope_spans, "spans"):
                fix_ids(span)
                for link in each(span, "links"):
                    fix_ids(link)


class JsonLines:
    """Appends one JSON document per line to ``path``, each with one ``write`` in append mode.

    The file is opened for each line, so other processes may append to the same file and a file removed or
    rotated meanwhile is created again. A failure (to encode or to write) is logged once, and again only
    after a line was written since; :meth:`append` never raises.

    Args:
        path: The file; its directory must exist.
        what: What the lines hold (``spans``, ``metrics``), for the warning.
        consequence: Appended to the warning (what happens to what is not written).
    """

    def __init__(self, path: str, what: str, consequence: str = "") -> None:
        self.path = path
        self._what = what
        self._consequence = consequence
        self._lock = threading.Lock()  # one line at a time, so lines never interleave within this process
        self._failing = False

    def append(self, encode: Callable[[], dict[str, Any]]) -> bool:
        """Write ``encode()`` as one line; ``False`` (logged once) when it cannot be encoded or written."""
        try:
            data = (json.dumps(encode(), separators=(",", ":"), ensure_ascii=False) + "\n").encode("utf-8")
            with self._lock, open(self.path, "ab") as handle:
                handle.write(data)
        except Exception as error:  # noqa: BLE001 - a full disk or an odd item must not kill the export thread
            if not self._failing:
                self._failing = True
                logger.warning(
                    "lc_otel: cannot write %s to %s (%s: %s)%s",
                    self._what,
                    self.path,
                    type(error).__name__,
                    error,
                    self._consequence,
                )
            return False
        self._failing = False
        return True


class OtlpJsonFileExporter(SpanExporter):
    """Append each batch of spans to ``path`` as one OTLP/JSON ``ExportTraceServiceRequest`` line.

    It runs in the batch processor's export thread, never in the caller's, and writes with :class:`JsonLines`:
    a failure is logged once (and again only after a batch was written since), and the batch is reported as
    failed; it never raises.

    Args:
        path: The file; its directory must exist (:func:`file_exporter` creates it).
        encode: ``spans -> OTLP/JSON dict`` (see :func:`_load_encoder`).
    """

    def __init__(self, path: str, encode: Callable[[Sequence[ReadableSpan]], dict[str, Any]]) -> None:
        self._lines = JsonLines(path, "spans", "; spans are dropped until it works again")
        self._encode = encode
        self._closed = False

    @property
    def path(self) -> str:
        """The file the spans go to."""
        return self._lines.path

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        """Write ``spans`` as one line; ``FAILURE`` (logged once) when they cannot be encoded or written."""
        if self._closed:
            return SpanExportResult.FAILURE
        if not spans:
            return SpanExportResult.SUCCESS
        if self._lines.append(lambda: self._encode(spans)):
            return SpanExportResult.SUCCESS
        return SpanExportResult.FAILURE

    def shutdown(self) -> None:
        """Stop writing; later batches fail."""
        self._closed = True

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        """Nothing is buffered: every batch is written when it is exported."""
        return True


def open_file_exporter(path: str | os.PathLike[str]) -> OtlpJsonFileExporter:
    """An exporter appending to ``path``, the file opened once here so that an unwritable path shows now.

    Raises:
        OSError: The file cannot be created or opened for appending (a missing directory included).
        EncoderMissingError: The OTLP encoder is not installed.
    """
    encode = _load_encoder()
    target = os.fspath(path)
    with open(target, "ab"):
        pass
    return OtlpJsonFileExporter(target, encode)


def file_exporter(path: str | os.PathLike[str]) -> OtlpJsonFileExporter | None:
    """Like :func:`open_file_exporter` with the directories created, but ``None`` and one warning for a raise.

    :func:`lc_otel.configure` so reports an unwritable path when tracing is set up, and goes on without it.
    """
    try:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        return open_file_exporter(path)
    except EncoderMissingError as error:
        logger.warning("lc_otel: cannot write the spans file (%s); spans are not exported", error)
    except OSError as error:
        logger.warning(
            "lc_otel: cannot write spans to %s (%s); spans are not exported", os.fspath(path), error.strerror or error
        )
    return None

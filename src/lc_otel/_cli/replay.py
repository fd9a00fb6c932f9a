"""``lc-otel replay FILE``: send a recorded OTLP-JSON-lines file to an OTLP backend.

The embedded default (no endpoint configured) writes spans to a file; replaying it into Jaeger, a collector or
Phoenix later makes them searchable there as if they had been exported live: same ids, parents, times,
attributes, events, links, status, resource and scope. The endpoint follows ``configure()``'s rules
(``--endpoint`` > ``LC_OTEL_ENDPOINT`` > ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` > ``OTEL_EXPORTER_OTLP_ENDPOINT``,
``/v1/traces`` added to an HTTP base URL, gRPC on port 4317, the ``OTEL_EXPORTER_OTLP_HEADERS``), and the spans
go through the same OTLP exporters, in batches. Corrupt lines are reported and skipped, as ``lc-otel traces
--file`` does.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import json
import os
import socket
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, BinaryIO, Final, TextIO
from urllib.parse import urlsplit

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import Link, SpanContext, SpanKind, Status, StatusCode, TraceFlags, TraceState

from lc_otel._cli.http import DEFAULT_MAX_BYTES, display_url, format_size
from lc_otel._cli.terminal import printable, quiet_logs, shorten, write_line
from lc_otel._cli.traces.file import lines, open_spans_file, too_long
from lc_otel._export.configure import ExportTarget, otlp_exporter, resolve_target

BATCH_SPANS: Final = 512
"""Spans per export request (the SDK batch processor's default batch)."""
PROGRESS_FROM_BYTES: Final = 1024 * 1024
"""Files at least this large get a progress line."""
_PROGRESS_EVERY_SECONDS: Final = 0.5
_MAX_BAD_LINES_SHOWN: Final = 10
_KINDS: Final = {
    1: SpanKind.INTERNAL,
    2: SpanKind.SERVER,
    3: SpanKind.CLIENT,
    4: SpanKind.PRODUCER,
    5: SpanKind.CONSUMER,
}
_KIND_NAMES: Final = {f"SPAN_KIND_{kind.name}": kind for kind in SpanKind}
_STATUSES: Final = {0: StatusCode.UNSET, 1: StatusCode.OK, 2: StatusCode.ERROR}
_STATUS_NAMES: Final = {"STATUS_CODE_UNSET": 0, "STATUS_CODE_OK": 1, "STATUS_CODE_ERROR": 2}


class ReplayError(Exception):
    """What went wrong, as one line for the user."""


# --- OTLP/JSON → SDK spans ----------------------------------------------------------------------------


def _value(raw: Any) -> Any:
    """One OTLP ``AnyValue`` as the SDK's attribute value (arrays as tuples, key-value lists as dicts)."""
    if not isinstance(raw, Mapping):
        raise ValueError("an attribute value is not an object")
    if "stringValue" in raw:
        return str(raw["stringValue"])
    if "boolValue" in raw:
        return bool(raw["boolValue"])
    if "intValue" in raw:
        return int(raw["intValue"])
    if "doubleValue" in raw:
        return float(raw["doubleValue"])  # "NaN" and "Infinity" per the protobuf JSON mapping, too
    if "arrayValue" in raw:
        return tuple(_value(item) for item in (raw["arrayValue"] or {}).get("values") or ())
    if "kvlistValue" in raw:
        return _attributes((raw["kvlistValue"] or {}).get("values"))
    if "bytesValue" in raw:
        return base64.b64decode(str(raw["bytesValue"]))
    return None


def _attributes(items: Any) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for item in items or ():
        if not isinstance(item, Mapping) or not isinstance(item.get("key"), str):
            raise ValueError("an attribute has no key")
        value = _value(item.get("value") or {})
        if value is not None:
            found[item["key"]] = value
    return found


def _id(raw: Any, length: int, what: str) -> int:
    """A hex id (the OTLP file format's); the protobuf JSON mapping's base64 is accepted too."""
    text = str(raw or "")
    if len(text) != length:
        try:
            text = base64.b64decode(text, validate=True).hex()
        except (binascii.Error, ValueError):
            raise ValueError(f"bad {what}: {text[:40]!r}") from None
    try:
        return int(text, 16)
    except ValueError:
        raise ValueError(f"bad {what}: {text[:40]!r}") from None


def _context(trace_id: int, raw_span_id: Any, flags: Any = None, state: Any = None) -> SpanContext:
    trace_flags = TraceFlags(int(flags) & 0xFF) if flags else TraceFlags(TraceFlags.SAMPLED)
    trace_state = TraceState.from_header([state]) if isinstance(state, str) and state else None
    return SpanContext(trace_id, _id(raw_span_id, 16, "spanId"), is_remote=False, trace_flags=trace_flags,
                       trace_state=trace_state)  # fmt: skip


def _kind(raw: Any) -> SpanKind:
    if isinstance(raw, str):
        return _KIND_NAMES.get(raw, SpanKind.INTERNAL)
    return _KINDS.get(int(raw or 0), SpanKind.INTERNAL)


def _status(raw: Any) -> Status:
    if not isinstance(raw, Mapping):
        return Status(StatusCode.UNSET)
    code = raw.get("code", 0)
    code = _STATUS_NAMES.get(code, 0) if isinstance(code, str) else int(code or 0)
    status_code = _STATUSES.get(code, StatusCode.UNSET)
    message = raw.get("message") or None
    return Status(status_code, message if status_code is StatusCode.ERROR else None)


def _span(raw: Mapping[str, Any], resource: Resource, scope: InstrumentationScope) -> ReadableSpan:
    trace_id = _id(raw.get("traceId"), 32, "traceId")
    parent = raw.get("parentSpanId")
    return ReadableSpan(
        name=str(raw.get("name") or ""),
        context=_context(trace_id, raw.get("spanId"), raw.get("flags"), raw.get("traceState")),
        parent=SpanContext(trace_id, _id(parent, 16, "parentSpanId"), is_remote=False) if parent else None,
        resource=resource,
        attributes=_attributes(raw.get("attributes")),
        events=[
            Event(str(e.get("name") or ""), _attributes(e.get("attributes")), int(e.get("timeUnixNano") or 0))
            for e in raw.get("events") or ()
        ],
        links=[
            Link(
                _context(_id(link.get("traceId"), 32, "traceId"), link.get("spanId"), link.get("flags")),
                _attributes(link.get("attributes")),
            )
            for link in raw.get("links") or ()
        ],
        kind=_kind(raw.get("kind")),
        status=_status(raw.get("status")),
        start_time=int(raw.get("startTimeUnixNano") or 0),
        end_time=int(raw.get("endTimeUnixNano") or 0),
        instrumentation_scope=scope,
    )


def spans_of_line(data: Any) -> list[ReadableSpan]:
    """The spans of one file line (an OTLP ``TracesData`` / ``ExportTraceServiceRequest`` in JSON).

    Raises:
        ValueError: The line is JSON but not OTLP traces.
    """
    if not isinstance(data, Mapping) or not isinstance(data.get("resourceSpans"), list):
        raise ValueError("no resourceSpans")
    spans: list[ReadableSpan] = []
    for resource_spans in data["resourceSpans"]:
        raw_resource = resource_spans.get("resource") or {}
        resource = Resource(_attributes(raw_resource.get("attributes")), resource_spans.get("schemaUrl") or None)
        for scope_spans in resource_spans.get("scopeSpans") or ():
            raw_scope = scope_spans.get("scope") or {}
            scope = InstrumentationScope(
                str(raw_scope.get("name") or ""),
                raw_scope.get("version") or None,
                scope_spans.get("schemaUrl") or None,
                _attributes(raw_scope.get("attributes")) or None,
            )
            spans.extend(_span(span, resource, scope) for span in scope_spans.get("spans") or ())
    return spans


# --- reading and sending ------------------------------------------------------------------------------


class Progress:
    """A progress line on ``stream``: rewritten in place on a terminal, one line per tenth elsewhere."""

    def __init__(self, stream: TextIO, total_bytes: int, *, enabled: bool) -> None:
        self._stream = stream
        self._total = max(total_bytes, 1)
        self._enabled = enabled
        self._tty = enabled and stream.isatty()
        self._last_shown = 0.0
        self._last_tenth = 0

    def update(self, done_bytes: int, spans: int) -> None:
        """Show how far the replay got, at most twice a second (or once per tenth of the file)."""
        if not self._enabled:
            return
        percent = min(100, done_bytes * 100 // self._total)
        if self._tty:
            now = time.monotonic()
            if now - self._last_shown >= _PROGRESS_EVERY_SECONDS:
                self._last_shown = now
                self._stream.write(f"\rlc-otel replay: {spans:,} spans sent ({percent}%)")
                self._stream.flush()
        elif percent // 10 > self._last_tenth:
            self._last_tenth = percent // 10
            self._stream.write(f"lc-otel replay: {spans:,} spans sent ({percent}%)\n")
            self._stream.flush()

    def done(self) -> None:
        """End the rewritten line, so what follows starts on a line of its own."""
        if self._tty:
            self._stream.write("\r\x1b[K")
            self._stream.flush()


def _check_reachable(target: ExportTarget, timeout: float, where: str) -> None:
    """Fail at once, in one line, when nothing listens at the endpoint (the exporters would retry for seconds).

    Skipped when a proxy is configured for HTTP: the exporter goes through it, not straight to the host.
    """
    if target.protocol == "http/protobuf" and any(
        os.environ.get(name) for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY")
    ):
        return
    try:
        parts = urlsplit(target.endpoint or "")
        host, port = parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return
    if not host:
        return
    try:
        socket.create_connection((host, port), timeout=min(timeout, 5.0)).close()
    except OSError as error:
        raise ReplayError(f"cannot reach the OTLP backend at {where}: {error.strerror or error}") from None


def _send(exporter: SpanExporter, batch: Sequence[ReadableSpan], where: str) -> None:
    if exporter.export(batch) is not SpanExportResult.SUCCESS:
        raise ReplayError(f"the OTLP backend at {where} did not accept the spans (is it running, on that protocol?)")


def replay(
    path: str,
    target: ExportTarget,
    *,
    timeout: float = 10.0,
    max_line_bytes: int = DEFAULT_MAX_BYTES,
    stderr: TextIO | None = None,
    progress_from_bytes: int = PROGRESS_FROM_BYTES,
    exporter_factory: Callable[[ExportTarget, float], SpanExporter] = otlp_exporter,
) -> tuple[int, int]:
    """Send every span of the OTLP-JSON-lines file ``path`` to ``target``; return (spans sent, lines skipped).

    Raises:
        ReplayError: The file cannot be read, holds no spans, or the backend refused or could not be reached.
    """
    stderr = stderr or sys.stderr
    where = display_url(target.endpoint or "")  # no user:password@, printable
    try:
        size = os.path.getsize(path)
    except OSError as error:
        raise ReplayError(f"cannot read {path}: {error.strerror or error}") from None
    _check_reachable(target, timeout, where)
    progress = Progress(stderr, size, enabled=size >= progress_from_bytes)
    try:
        handle = open_spans_file(path, timeout)
    except OSError as error:
        raise ReplayError(f"cannot read {path}: {error.strerror or error}") from None
    with handle, quiet_logs("opentelemetry.exporter", "opentelemetry.sdk"):
        exporter = exporter_factory(target, timeout)
        try:
            sent, skipped = _replay_lines(handle, path, max_line_bytes, exporter, where, progress, stderr)
        finally:
            progress.done()
            exporter.shutdown()
    if skipped > _MAX_BAD_LINES_SHOWN:
        write_line(stderr, f"lc-otel: {printable(path)}: skipped {skipped - _MAX_BAD_LINES_SHOWN} more corrupt lines")
    if sent == 0:
        raise ReplayError(f"{path} holds no spans to send")
    return sent, skipped


def _replay_lines(
    handle: BinaryIO,
    path: str,
    max_line_bytes: int,
    exporter: SpanExporter,
    where: str,
    progress: Progress,
    stderr: TextIO,
) -> tuple[int, int]:
    sent = skipped = 0
    batch: list[ReadableSpan] = []
    try:
        for line in lines(handle, max_line_bytes):
            try:
                if line.raw is None:
                    raise ValueError(too_long(max_line_bytes))
                batch.extend(spans_of_line(json.loads(line.raw.decode("utf-8"))))
            except (UnicodeDecodeError, ValueError, TypeError, AttributeError, OverflowError, RecursionError) as bad:
                skipped += 1
                if skipped <= _MAX_BAD_LINES_SHOWN:
                    reason = shorten(str(bad) or type(bad).__name__)
                    write_line(stderr, f"lc-otel: {printable(path)}:{line.number}: skipped a corrupt line: {reason}")
                continue
            while len(batch) >= BATCH_SPANS:
                _send(exporter, batch[:BATCH_SPANS], where)
                sent += BATCH_SPANS
                del batch[:BATCH_SPANS]
            progress.update(line.done, sent + len(batch))
        if batch:
            _send(exporter, batch, where)
            sent += len(batch)
    except OSError as error:
        raise ReplayError(f"cannot read {path}: {error.strerror or error}") from None
    return sent, skipped


# --- the command --------------------------------------------------------------------------------------


def add_parser(
    commands: Any,
    endpoint_type: Callable[[str], str],
    seconds_type: Callable[[str], float],
    size_type: Callable[[str], int],
) -> None:
    """Register ``replay`` on the ``lc-otel`` sub-command parsers, with the CLI's endpoint, seconds and size checks."""
    command = commands.add_parser(
        "replay",
        help="send a recorded OTLP-JSON-lines file to an OTLP backend (Jaeger, a collector)",
        description="Send the spans of an OTLP-JSON-lines file (what `lc-otel demo` and the embedded default write) "
        "to an OTLP backend, so its search finds them. The endpoint follows configure()'s rules: --endpoint, else "
        "LC_OTEL_ENDPOINT, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT or OTEL_EXPORTER_OTLP_ENDPOINT; "
        "OTEL_EXPORTER_OTLP_HEADERS are sent.",
    )
    command.add_argument("file", metavar="FILE", help="the OTLP-JSON-lines file")
    command.add_argument("--endpoint", type=endpoint_type, help="OTLP endpoint (e.g. http://localhost:4317)")
    command.add_argument(
        "--protocol", choices=("grpc", "http/protobuf"), help="OTLP protocol (default: from the endpoint)"
    )
    command.add_argument(
        "--timeout",
        type=seconds_type,
        default=10.0,
        metavar="SECONDS",
        help="give up on one batch after this long (10)",
    )
    command.add_argument(
        "--max-bytes",
        type=size_type,
        default=DEFAULT_MAX_BYTES,
        metavar="SIZE",
        help=f"longer lines are skipped unread and reported: 1048576, 512k, 64M ({format_size(DEFAULT_MAX_BYTES)})",
    )


def run(args: argparse.Namespace, stderr: TextIO | None = None) -> int:
    """Run ``lc-otel replay``; return the exit status (errors are one line on ``stderr``, default ``sys.stderr``)."""
    stderr = stderr or sys.stderr
    target = resolve_target(args.endpoint, args.protocol)
    if target.protocol is None:
        stderr.write(
            "lc-otel: no OTLP endpoint: give --endpoint URL or set OTEL_EXPORTER_OTLP_ENDPOINT "
            "(e.g. http://localhost:4317 for Jaeger)\n"
        )
        return 1
    try:
        sent, _ = replay(
            args.file, target, timeout=max(0.1, args.timeout), max_line_bytes=args.max_bytes, stderr=stderr
        )
    except ReplayError as error:
        write_line(stderr, f"lc-otel: {printable(str(error))}")
        return 1
    where = display_url(target.endpoint or "")
    write_line(stderr, f"lc-otel: sent {sent:,} spans from {printable(args.file)} to {where} ({target.protocol})")
    return 0


__all__ = ["ReplayError", "add_parser", "replay", "run", "spans_of_line"]

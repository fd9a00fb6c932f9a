"""The export pipeline behind :func:`lc_otel.configure`: a bounded queue and a backend that may be down.

``BoundedBatchProcessor`` puts a ``BatchSpanProcessor`` behind a counted gate, so a span that finds the
queue full is dropped and counted instead of making the SDK log one warning per span. ``ExportGuard`` wraps
the exporter: after a failed export it stops trying for a while (spans sent meanwhile are dropped and
counted), it silences the exporter's per-batch retry logs, logs one warning per outage and one line when
the backend is back, and at shutdown it gives up once the exit budget is spent. Ending a span never waits
for the network: the chain that ends it runs at the same speed whether the backend is up, slow or gone.

Both survive ``fork()`` (gunicorn, celery and uwsgi pre-fork workers): in the child, the SDK empties its
``BatchSpanProcessor`` queue and restarts its worker, and these reset what they count and lock to match.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import weakref
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Final

from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

logger: Final = logging.getLogger("lc_otel")

_inside_export = threading.local()


class _QuietWhileExporting(logging.Filter):
    """Drop an exporter's own records while :class:`ExportGuard` (or the metrics' guard) exports in this thread.

    The OTLP exporters log every retry and every failed batch; during an outage that is a record every few
    seconds for as long as it lasts. The guard reports the outage itself, once.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return not getattr(_inside_export, "active", False)


_QUIET: Final = _QuietWhileExporting()
_quieted: set[str] = set()
_quieted_lock = threading.Lock()


def _quiet_loggers(exporter: SpanExporter) -> None:
    """Attach the filter to the exporter's module logger and to every OTLP exporter logger known so far."""
    names = {type(exporter).__module__}
    names.update(n for n in logging.Logger.manager.loggerDict if n.startswith("opentelemetry.exporter."))
    with _quieted_lock:
        for name in names - _quieted:
            logging.getLogger(name).addFilter(_QUIET)
            _quieted.add(name)


@contextmanager
def _exporting() -> Iterator[None]:
    _inside_export.active = True
    try:
        yield
    finally:
        _inside_export.active = False


def _after_fork_in_child(reset: Callable[[], None]) -> None:
    """Call the bound method ``reset`` in the child after every ``fork()``, for as long as its object lives."""
    if not hasattr(os, "register_at_fork"):  # Windows: no fork
        return
    method = weakref.WeakMethod(reset)

    def after_in_child() -> None:
        alive = method()
        if alive is not None:
            alive()

    os.register_at_fork(after_in_child=after_in_child)


class ExportGuard(SpanExporter):
    """Wrap ``exporter``: fail fast while its backend is down, count the spans lost, log once per outage.

    Args:
        exporter: The real exporter (OTLP gRPC, OTLP HTTP, file).
        target: How the backend is named in log records (an endpoint URL or a file path).
        retry_after: Seconds to stop trying after a failed export; batches sent meanwhile are dropped.
        clock: A monotonic clock (tests pass a fake one).
    """

    def __init__(
        self,
        exporter: SpanExporter,
        *,
        target: str,
        retry_after: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._exporter = exporter
        self._target = target
        self._retry_after = retry_after
        self._clock = clock
        self._lock = threading.Lock()
        self._down_until: float | None = None  # set while the backend is considered down
        self._deadline: float | None = None  # set when shutdown starts: no export after it
        self._closed = False
        self._dropped = 0
        self._dropped_this_outage = 0
        self._exported = 0
        self.on_batch: Callable[[int], None] | None = None
        """Called with the batch size at the start of every export (the bounded processor's queue count)."""
        _quiet_loggers(exporter)
        _after_fork_in_child(self._reinit_lock)

    def _reinit_lock(self) -> None:
        # Another thread (the exporter's) may have held the lock at fork(); in the child nobody will release it.
        self._lock = threading.Lock()

    @property
    def dropped(self) -> int:
        """Spans lost so far: failed exports, exports skipped while down, and a full queue."""
        with self._lock:
            return self._dropped

    @property
    def exported(self) -> int:
        """Spans the backend accepted."""
        with self._lock:
            return self._exported

    def count_dropped(self, count: int, reason: str) -> None:
        """Count ``count`` lost spans; log the first loss of an outage, not the others."""
        with self._lock:
            self._dropped += count
            self._dropped_this_outage += count
            first = self._dropped_this_outage == count
        if first:
            logger.warning(
                "lc_otel: dropping spans for %s (%s); further losses are counted, not logged, until it recovers",
                self._target,
                reason,
            )

    def begin_shutdown(self, budget: float) -> None:
        """Give the remaining exports ``budget`` seconds; later ones are dropped."""
        with self._lock:
            self._deadline = self._clock() + budget

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        """Export ``spans`` unless the backend is down or the exit budget is spent; never raise."""
        if self.on_batch is not None:
            self.on_batch(len(spans))
        now = self._clock()
        with self._lock:
            past_deadline = self._deadline is not None and now >= self._deadline
            down = self._down_until is not None and now < self._down_until
        if past_deadline:
            self.count_dropped(len(spans), "the exit time budget is spent")
            return SpanExportResult.FAILURE
        if down:
            self.count_dropped(len(spans), "the backend is unreachable")
            return SpanExportResult.FAILURE
        try:
            with _exporting():
                result = self._exporter.export(spans)
        except Exception as error:  # noqa: BLE001 - an exporter bug must not kill the export thread
            result = SpanExportResult.FAILURE
            reason = f"{type(error).__name__}: {error}"
        else:
            reason = "export failed or timed out"
        if result is SpanExportResult.SUCCESS:
            self._recovered(len(spans))
        else:
            with self._lock:
                self._down_until = self._clock() + self._retry_after
            self.count_dropped(len(spans), reason)
        return result

    def _recovered(self, count: int) -> None:
        with self._lock:
            self._exported += count
            was_down = self._down_until is not None
            lost = self._dropped_this_outage
            self._down_until = None
            self._dropped_this_outage = 0
        if was_down or lost:
            logger.warning("lc_otel: exporting to %s again; %d spans were dropped meanwhile", self._target, lost)

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: object) -> None:
        """Shut the real exporter down (it aborts a pending retry), never raising."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        try:
            self._exporter.shutdown()
        except Exception:
            logger.debug("lc_otel: exporter shutdown failed", exc_info=True)

    def abort(self) -> None:
        """Shut the exporter down now, from another thread, so a hanging export gives up."""
        self.shutdown()

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        """Flush the real exporter."""
        try:
            return bool(self._exporter.force_flush(timeout_millis))
        except Exception:  # noqa: BLE001
            return False


class BoundedBatchProcessor(SpanProcessor):
    """A ``BatchSpanProcessor`` whose queue bound is enforced here, with drops counted by ``guard``.

    Args:
        guard: The exporter; it counts the dropped spans.
        max_queue_size: Spans waiting for export at most; one more is dropped.
        shutdown_timeout: Seconds :meth:`shutdown` may take, whatever the backend does.
        schedule_delay_millis: Passed to ``BatchSpanProcessor`` (``None``: ``OTEL_BSP_SCHEDULE_DELAY``).
        max_export_batch_size: Passed to ``BatchSpanProcessor`` (``None``: ``OTEL_BSP_MAX_EXPORT_BATCH_SIZE``).
        export_timeout_millis: Passed to ``BatchSpanProcessor`` (``None``: ``OTEL_BSP_EXPORT_TIMEOUT``).
    """

    def __init__(
        self,
        guard: ExportGuard,
        *,
        max_queue_size: int,
        shutdown_timeout: float,
        schedule_delay_millis: float | None = None,
        max_export_batch_size: int | None = None,
        export_timeout_millis: float | None = None,
    ) -> None:
        self._guard = guard
        self._max_queue_size = max_queue_size
        self._shutdown_timeout = shutdown_timeout
        self._lock = threading.Lock()
        self._queued = 0
        self._closed = False
        guard.on_batch = self._taken
        batch_size = max_export_batch_size
        if batch_size is not None:
            batch_size = min(batch_size, max_queue_size)
        # The inner queue is larger than the gate, so its own "Queue full" warning (one per span) never fires.
        self._batch = BatchSpanProcessor(
            guard,
            max_queue_size=max_queue_size * 2,
            schedule_delay_millis=schedule_delay_millis,
            max_export_batch_size=batch_size or min(512, max_queue_size),
            export_timeout_millis=export_timeout_millis,
        )
        # Registered after the BatchSpanProcessor's own handler, so it runs after the SDK emptied the queue.
        _after_fork_in_child(self._reset_after_fork)

    def _reset_after_fork(self) -> None:
        """In a forked child: the SDK dropped its queue (the parent exports those spans), so nothing is queued."""
        self._lock = threading.Lock()
        self._queued = 0

    @property
    def guard(self) -> ExportGuard:
        """The exporter wrapper, with the dropped and exported counts."""
        return self._guard

    @property
    def queued(self) -> int:
        """Spans waiting for export."""
        with self._lock:
            return self._queued

    def _taken(self, count: int) -> None:
        with self._lock:
            self._queued = max(0, self._queued - count)

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        """Nothing to do when a span starts."""

    def on_end(self, span: ReadableSpan) -> None:
        """Queue ``span`` for export, or drop and count it when the queue is full. Never blocks."""
        if not span.context or not span.context.trace_flags.sampled:
            return
        with self._lock:
            if self._closed:
                return
            full = self._queued >= self._max_queue_size
            if not full:
                self._queued += 1
        if full:
            self._guard.count_dropped(1, f"the export queue is full ({self._max_queue_size} spans)")
            return
        self._batch.on_end(span)

    def shutdown(self) -> None:
        """Export what is queued within the shutdown budget, then stop; never waits longer than that."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._guard.begin_shutdown(self._shutdown_timeout)
        # BatchSpanProcessor.shutdown() waits up to 30 s for its worker; run it aside and wait only the budget.
        # Both threads are daemons, so the interpreter can exit while an export to a dead backend hangs.
        closer = threading.Thread(target=self._batch.shutdown, name="lc_otel-shutdown", daemon=True)
        try:
            closer.start()
        except RuntimeError:
            # Python 3.12 refuses new threads once interpreter exit has begun (the SDK's atexit hook runs then):
            # shut down here instead; the guard's deadline still bounds the exports to the budget.
            shutdown_inline: Callable[[], None] = self._batch.shutdown  # untyped in some SDK releases
            shutdown_inline()
        else:
            closer.join(self._shutdown_timeout)
            if closer.is_alive():
                self._guard.abort()
        dropped = self._guard.dropped
        if dropped:
            logger.warning("lc_otel: %d spans were dropped in all (%d exported)", dropped, self._guard.exported)

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        """Export everything queued now (spans still fail fast while the backend is down)."""
        return self._batch.force_flush(timeout_millis)

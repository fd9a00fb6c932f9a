"""``QuietMetricExporter``: an OTLP metric exporter that is quiet about a backend that takes no metrics.

Many trace backends (Jaeger without its metrics pipeline, Phoenix) answer OTLP metrics with "unimplemented"
or 404, and the OTLP exporters log an error for every export, every minute and at exit. lc_otel sends metrics
wherever it sends spans, so that would be noise in every such set-up: this wrapper silences the exporter's
own records while it exports, logs one INFO line per outage (and one when metrics are accepted again), and
after a failure skips exports for ``retry_after`` seconds, so the final flush at exit does not wait on a
backend known to be down.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Final

from opentelemetry.sdk.metrics.export import MetricExporter, MetricExportResult, MetricsData

# The spans' guard's filter: it drops an exporter's own records while an export runs in this thread.
from lc_otel._export.pipeline import _QUIET, _exporting

logger: Final = logging.getLogger("lc_otel")


class QuietMetricExporter(MetricExporter):
    """Wrap ``exporter`` (see the module docstring).

    Args:
        exporter: The OTLP metric exporter.
        target: The endpoint, for log records.
        retry_after: Seconds without export attempts after a failed one.
    """

    def __init__(self, exporter: MetricExporter, *, target: str, retry_after: float) -> None:
        super().__init__(
            preferred_temporality=getattr(exporter, "_preferred_temporality", None),
            preferred_aggregation=getattr(exporter, "_preferred_aggregation", None),
        )
        self._exporter = exporter
        self._target = target
        self._retry_after = retry_after
        self._resume_at = 0.0
        self._down = False
        for name in {type(exporter).__module__, "opentelemetry.exporter.otlp.proto.grpc.exporter"}:
            logging.getLogger(name).addFilter(_QUIET)

    def export(self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: Any) -> MetricExportResult:
        """Export, unless a recent export failed; never logs more than one line per outage."""
        if time.monotonic() < self._resume_at:
            return MetricExportResult.FAILURE
        try:
            with _exporting():
                result = self._exporter.export(metrics_data, timeout_millis=timeout_millis, **kwargs)
        except Exception:  # noqa: BLE001 - an exporter bug must not kill the reader's thread
            result = MetricExportResult.FAILURE
        if result is MetricExportResult.SUCCESS:
            if self._down:
                self._down = False
                logger.info("lc_otel: %s accepts metrics again", self._target)
            return result
        self._resume_at = time.monotonic() + self._retry_after
        if not self._down:
            self._down = True
            logger.info(
                "lc_otel: %s did not take metrics (down, or a backend without metrics: OTEL_METRICS_EXPORTER=none "
                "stops sending them); trying again in %.0f s",
                self._target,
                self._retry_after,
            )
        return result

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        """Flush the wrapped exporter."""
        return self._exporter.force_flush(timeout_millis=timeout_millis)

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
        """Shut the wrapped exporter down."""
        self._exporter.shutdown(timeout_millis=timeout_millis, **kwargs)

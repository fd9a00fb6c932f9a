"""Metrics and events to local OTLP-JSON-lines files: the embedded default when no endpoint is configured.

Each export is one line, an OTLP ``ExportMetricsServiceRequest`` (or ``ExportLogsServiceRequest``) in the
OTLP/JSON encoding, next to the spans' file: what OpenTelemetry's file exporters write and the Collector's
``otlpjsonfile`` receiver reads. Encoded like the spans' file: ``opentelemetry-exporter-otlp-proto-common``'s
encoders, protobuf's JSON mapping, enums as integers, trace and span ids as hex.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

from opentelemetry.sdk.metrics.export import MetricExporter, MetricExportResult, MetricsData

from lc_otel._export.file import JsonLines, each, fix_ids

logger: Final = logging.getLogger("lc_otel")


def _to_dict(message: Any) -> dict[str, Any]:
    from google.protobuf.json_format import MessageToDict  # type: ignore[import-untyped,unused-ignore]

    found: dict[str, Any] = MessageToDict(message, use_integers_for_enums=True)
    return found


def _hex_ids(request: dict[str, Any]) -> None:
    """OTLP/JSON writes the trace and span ids of log records as hex; protobuf's mapping writes base64."""
    for resource_logs in each(request, "resourceLogs"):
        for scope_logs in each(resource_logs, "scopeLogs"):
            for record in each(scope_logs, "logRecords"):
                fix_ids(record)


class JsonLinesMetricExporter(MetricExporter):
    """Append each collection to ``path`` as one OTLP/JSON ``ExportMetricsServiceRequest`` line."""

    def __init__(self, path: str) -> None:
        super().__init__()
        self._lines = JsonLines(path, "metrics")

    @property
    def path(self) -> str:
        """The file the metrics go to."""
        return self._lines.path

    def export(self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: Any) -> MetricExportResult:
        """Write one line; ``FAILURE`` (logged once) when it cannot be written."""
        from opentelemetry.exporter.otlp.proto.common.metrics_encoder import encode_metrics

        if self._lines.append(lambda: _to_dict(encode_metrics(metrics_data))):
            return MetricExportResult.SUCCESS
        return MetricExportResult.FAILURE

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        """Every line is written when exported."""
        return True

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
        """Nothing to release: the file is opened per line."""


def log_exporter(path: str) -> Any:
    """An SDK log exporter appending OTLP/JSON ``ExportLogsServiceRequest`` lines to ``path``.

    Built on demand: the SDK's log export classes moved between releases (``LogExporter`` became
    ``LogRecordExporter``), and this works with both.
    """
    from opentelemetry.exporter.otlp.proto.common._log_encoder import encode_logs
    from opentelemetry.sdk._logs import export as logs_export

    base: Any = getattr(logs_export, "LogRecordExporter", None) or logs_export.LogExporter
    result: Any = getattr(logs_export, "LogRecordExportResult", None) or logs_export.LogExportResult
    lines = JsonLines(path, "events")

    def encode(batch: Sequence[Any]) -> dict[str, Any]:
        request = _to_dict(encode_logs(batch))
        _hex_ids(request)
        return request

    class JsonLinesLogExporter(base):  # type: ignore[misc]
        """Append each batch of log records to the file as one line."""

        path = lines.path

        def export(self, batch: Sequence[Any]) -> Any:
            return result.SUCCESS if lines.append(lambda: encode(batch)) else result.FAILURE

        def shutdown(self) -> None:
            """Nothing to release."""

        def force_flush(self, timeout_millis: int = 30_000) -> bool:
            return True

    return JsonLinesLogExporter()


def prepare(path: str) -> str | None:
    """Create the parent directories of ``path``; ``None`` (with a warning) when that fails."""
    try:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        logger.warning("lc_otel: cannot write to %s (%s)", path, error)
        return None
    return path

"""The embedded default: spans to a local OTLP-JSON-lines file, without a backend.

Uses the maintained ``opentelemetry-exporter-otlp-json-file`` package (the ``lc-otel[file]`` extra): one line
per export batch, each an OTLP ``ExportTraceServiceRequest`` in JSON, the OpenTelemetry file-exporter format
that ``lc-otel traces --file`` and the Collector's ``otlpjsonfile`` receiver read.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Final

from opentelemetry.sdk.trace.export import SpanExporter

logger: Final = logging.getLogger("lc_otel")


def file_exporter(path: str) -> SpanExporter | None:
    """An exporter appending to ``path`` (parent directories created), or ``None`` with one warning."""
    try:
        from opentelemetry.exporter.otlp.json.file import FileSpanExporter
    except ImportError:
        logger.warning(
            "lc_otel: no OTLP endpoint is configured and the file exporter is not installed "
            "(pip install 'lc-otel[file]'); spans are not exported"
        )
        return None
    try:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        exporter: SpanExporter = FileSpanExporter(path)
    except OSError as error:
        logger.warning("lc_otel: cannot write spans to %s (%s); spans are not exported", path, error)
        return None
    return exporter

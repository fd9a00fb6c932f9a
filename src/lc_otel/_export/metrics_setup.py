"""The MeterProvider (and, for GenAI events, the LoggerProvider) that :func:`lc_otel.configure` sets up.

Same precedence as the spans' set-up: an explicit argument, an ``LC_OTEL_*`` variable, a signal-specific
``OTEL_*`` variable, the shared ``OTEL_*`` variable, the default. Never raises; a bad value warns and falls back.

- ``OTEL_METRICS_EXPORTER``: ``otlp`` (default), ``prometheus``, ``console``, ``none`` (comma-separated for
  several). ``otlp`` sends to ``OTEL_EXPORTER_OTLP_METRICS_ENDPOINT`` (used as is) or the shared endpoint
  (``/v1/metrics`` appended for HTTP); with no endpoint anywhere, to ``lc-otel-metrics.jsonl`` next to the
  spans' file. ``prometheus`` serves ``/metrics`` on ``OTEL_EXPORTER_PROMETHEUS_HOST``:``OTEL_EXPORTER_PROMETHEUS_PORT``
  (``localhost:9464``; the ``lc-otel[prometheus]`` extra).
- ``OTEL_METRIC_EXPORT_INTERVAL`` / ``OTEL_METRIC_EXPORT_TIMEOUT``: milliseconds (60000 / 30000).
- A LoggerProvider only when the GenAI events are on (``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT`` =
  ``EVENT_ONLY`` / ``SPAN_AND_EVENT``): ``OTEL_LOGS_EXPORTER`` (``otlp``, ``console``, ``none``),
  ``OTEL_EXPORTER_OTLP_LOGS_ENDPOINT``, else ``lc-otel-events.jsonl`` next to the spans' file.

An application's own MeterProvider or LoggerProvider is left alone.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

from opentelemetry import metrics
from opentelemetry._logs import get_logger_provider, set_logger_provider
from opentelemetry.sdk.resources import Resource
from opentelemetry.util.types import AttributeValue

from lc_otel._export import endpoints
from lc_otel._export.sdk_env import check_exporter_variables
from lc_otel._internal_errors import report_internal_error
from lc_otel._metrics.options import TelemetryOptions
from lc_otel._metrics.recorder import placeholder
from lc_otel._settings import env_bool, env_number

logger: Final = logging.getLogger("lc_otel")

OTEL_METRICS_EXPORTER: Final = "OTEL_METRICS_EXPORTER"
OTEL_LOGS_EXPORTER: Final = "OTEL_LOGS_EXPORTER"
OTEL_METRIC_EXPORT_INTERVAL: Final = "OTEL_METRIC_EXPORT_INTERVAL"
OTEL_METRIC_EXPORT_TIMEOUT: Final = "OTEL_METRIC_EXPORT_TIMEOUT"
OTEL_EXPORTER_PROMETHEUS_HOST: Final = "OTEL_EXPORTER_PROMETHEUS_HOST"
OTEL_EXPORTER_PROMETHEUS_PORT: Final = "OTEL_EXPORTER_PROMETHEUS_PORT"
LC_OTEL_METRICS_FILE: Final = "LC_OTEL_METRICS_FILE"
"""Where metrics go with no endpoint. Default ``lc-otel-metrics.jsonl`` next to the spans' file."""
LC_OTEL_EVENTS_FILE: Final = "LC_OTEL_EVENTS_FILE"
"""Where events go with no endpoint. Default ``lc-otel-events.jsonl`` next to the spans' file."""

DEFAULT_METRICS_FILE: Final = "lc-otel-metrics.jsonl"
DEFAULT_EVENTS_FILE: Final = "lc-otel-events.jsonl"
_EXPORTERS: Final = {
    "metrics": frozenset({"otlp", "prometheus", "console", "none"}),
    "logs": frozenset({"otlp", "console", "none"}),
}


@dataclasses.dataclass(frozen=True)
class Signal:
    """The variables of one signal."""

    name: str
    """``metrics`` or ``logs``: the ``/v1/<name>`` path and the ``OTEL_EXPORTER_OTLP_<NAME>_*`` variables."""
    file_variable: str
    default_file: str

    def variable(self, suffix: str) -> str:
        """The signal's own ``OTEL_EXPORTER_OTLP_<NAME>_<suffix>`` variable."""
        return endpoints.signal_variable(self.name, suffix)


METRICS: Final = Signal("metrics", LC_OTEL_METRICS_FILE, DEFAULT_METRICS_FILE)
LOGS: Final = Signal("logs", LC_OTEL_EVENTS_FILE, DEFAULT_EVENTS_FILE)


@dataclasses.dataclass(frozen=True)
class Request:
    """What ``configure()`` was asked for."""

    service_name: str | None = None
    endpoint: str | None = None
    protocol: str | None = None
    headers: Mapping[str, str] | str | None = None
    export_file: str | os.PathLike[str] | None = None
    resource_attributes: Mapping[str, AttributeValue] | None = None
    timeout: float | None = None


def _exporter_names(variable: str, signal: str) -> list[str]:
    raw = os.environ.get(variable, "otlp")
    names: list[str] = []
    for part in raw.split(","):
        name = part.strip().lower()
        if not name:
            continue
        if name not in _EXPORTERS[signal]:
            logger.warning(
                "lc_otel: %s=%r: %r is not supported here (%s); skipping it",
                variable,
                raw,
                name,
                ", ".join(sorted(_EXPORTERS[signal])),
            )
            continue
        names.append(name)
    return [] if "none" in names else list(dict.fromkeys(names or ["otlp"]))


def _file_next_to_spans(signal: Signal, request: Request) -> str:
    explicit = endpoints.env(signal.file_variable)
    if explicit:
        return explicit
    spans = (
        os.fspath(request.export_file)
        if request.export_file is not None
        else endpoints.env(endpoints.LC_OTEL_EXPORT_FILE)
    )
    directory = Path(spans).parent if spans else Path()
    return os.fspath(directory / signal.default_file)


def resolve(signal: Signal, request: Request) -> tuple[str, str | None, dict[str, str]]:
    """Decide where ``signal`` goes: ``("grpc" | "http/protobuf", url, headers)`` or ``("file", path, {})``."""
    found = endpoints.endpoint(signal.name, request.endpoint) if request.export_file is None else None
    if found is None:
        return "file", _file_next_to_spans(signal, request), {}
    url, signal_specific = found
    protocol = endpoints.protocol(signal.name, request.protocol, url)
    path = f"/v1/{signal.name}"
    if protocol == "http/protobuf" and not signal_specific:
        # A base URL: the traces path a user gave for both signals is replaced, not appended to.
        base = url.rstrip("/").removesuffix("/v1/traces")
        url = base if base.endswith(path) else base + path
    return protocol, url, endpoints.headers(signal.name, request.headers)


def _timeout(request: Request) -> float:
    return (
        request.timeout
        if request.timeout is not None
        else env_number(endpoints.LC_OTEL_EXPORT_TIMEOUT, 3.0, minimum=0.1)
    )


# --- metrics --------------------------------------------------------------------------------------------


def _metric_exporter(request: Request) -> tuple[Any, str] | None:
    from lc_otel._export.metrics_file import JsonLinesMetricExporter, prepare

    kind, where, headers = resolve(METRICS, request)
    if kind == "file":
        path = prepare(where or DEFAULT_METRICS_FILE)
        return (JsonLinesMetricExporter(path), path) if path is not None else None
    from lc_otel._export.metrics_guard import QuietMetricExporter

    check_exporter_variables()
    timeout = _timeout(request)
    exporter: Any
    if kind == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter as Grpc

        exporter = Grpc(endpoint=where, headers=headers, timeout=timeout)
    else:
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter as Http

        exporter = Http(endpoint=where, headers=headers, timeout=timeout)
    target = endpoints.without_userinfo(str(where))  # never log a password given in the URL
    retry_after = env_number(endpoints.LC_OTEL_RETRY_AFTER, 5.0, minimum=0.0)
    return QuietMetricExporter(exporter, target=target, retry_after=retry_after), target


def _prometheus_reader() -> Any | None:
    try:
        from opentelemetry.exporter.prometheus import PrometheusMetricReader
        from prometheus_client import start_http_server
    except ImportError:
        logger.warning(
            "lc_otel: %s=prometheus needs the Prometheus exporter (pip install 'lc-otel[prometheus]'); "
            "metrics are not served",
            OTEL_METRICS_EXPORTER,
        )
        return None
    host = endpoints.env(OTEL_EXPORTER_PROMETHEUS_HOST) or "localhost"
    port = int(env_number(OTEL_EXPORTER_PROMETHEUS_PORT, 9464, minimum=0))
    try:
        start_http_server(port, addr=host)
    except OSError as error:
        logger.warning("lc_otel: cannot serve Prometheus metrics on %s:%s (%s)", host, port, error)
        return None
    logger.info("lc_otel: serving Prometheus metrics on http://%s:%s/metrics", host, port)
    return PrometheusMetricReader()


def _readers(request: Request) -> list[Any]:
    from opentelemetry.sdk.metrics.export import ConsoleMetricExporter, PeriodicExportingMetricReader

    interval = env_number(OTEL_METRIC_EXPORT_INTERVAL, 60_000.0, minimum=1.0)
    timeout = env_number(OTEL_METRIC_EXPORT_TIMEOUT, 30_000.0, minimum=1.0)
    readers: list[Any] = []
    for name in _exporter_names(OTEL_METRICS_EXPORTER, "metrics"):
        if name == "prometheus":
            reader = _prometheus_reader()
            if reader is not None:
                readers.append(reader)
            continue
        if name == "console":
            exporter: Any = ConsoleMetricExporter()
        else:
            built = _metric_exporter(request)
            if built is None:
                continue
            exporter, where = built
            logger.info("lc_otel: exporting metrics to %s", endpoints.without_userinfo(where))  # never log a password
        readers.append(
            PeriodicExportingMetricReader(exporter, export_interval_millis=interval, export_timeout_millis=timeout)
        )
    return readers


def _setup_metrics(request: Request, resource: Resource) -> None:
    from opentelemetry.sdk.metrics import MeterProvider

    if not placeholder(metrics.get_meter_provider()):
        logger.info("lc_otel: the application already set a meter provider; leaving it alone")
        return
    readers = _readers(request)
    if not readers:  # metrics off: the API's no-op provider stays, and lc_otel records nothing
        return
    metrics.set_meter_provider(MeterProvider(resource=resource, metric_readers=readers))


# --- events ---------------------------------------------------------------------------------------------


def _log_exporter(request: Request) -> Any | None:
    from lc_otel._export.metrics_file import log_exporter, prepare

    kind, where, headers = resolve(LOGS, request)
    if kind == "file":
        path = prepare(where or DEFAULT_EVENTS_FILE)
        return log_exporter(path) if path is not None else None
    check_exporter_variables()
    timeout = _timeout(request)
    if kind == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter as Grpc

        return Grpc(endpoint=where, headers=headers, timeout=timeout)
    from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter as Http

    return Http(endpoint=where, headers=headers, timeout=timeout)


def _setup_events(request: Request, resource: Resource) -> None:
    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk._logs.export import BatchLogRecordProcessor

    if not TelemetryOptions.from_env().emit_events:
        return
    if not placeholder(get_logger_provider()):
        logger.info("lc_otel: the application already set a logger provider; leaving it alone")
        return
    exporters: list[Any] = []
    for name in _exporter_names(OTEL_LOGS_EXPORTER, "logs"):
        if name == "console":
            from opentelemetry.sdk._logs import export as logs_export

            console: Any = getattr(logs_export, "ConsoleLogRecordExporter", None) or logs_export.ConsoleLogExporter
            exporters.append(console())
        else:
            built = _log_exporter(request)
            if built is not None:
                exporters.append(built)
    if not exporters:
        return
    provider = LoggerProvider(resource=resource)
    for exporter in exporters:
        provider.add_log_record_processor(BatchLogRecordProcessor(exporter))
    set_logger_provider(provider)


_lock = threading.Lock()
_done = False


def configure_metrics_and_events(request: Request) -> None:
    """Set up the global MeterProvider (and LoggerProvider, for events) once per process; never raises.

    ``request`` holds ``configure()``'s arguments, with the same meaning; see the module docstring for the
    variables.
    """
    global _done  # noqa: PLW0603 - one set-up per process, like OpenTelemetry's own globals
    try:
        with _lock:
            if _done:
                return
            _done = True
            if env_bool(endpoints.OTEL_SDK_DISABLED, False):
                return
            resource = endpoints.resource(request.service_name, request.resource_attributes)
            _setup_metrics(request, resource)
            _setup_events(request, resource)
    except Exception as error:  # noqa: BLE001 - configuration must never break the application
        report_internal_error("configure (metrics)", error)

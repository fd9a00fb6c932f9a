"""``configure()``: a TracerProvider that exports to an OTLP backend, or to a local file when there is none.

Precedence, highest first: an explicit argument, an ``LC_OTEL_*`` variable, a standard ``OTEL_*`` variable,
the default. A bad value logs one warning and falls back; ``configure`` never raises.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import threading
from collections.abc import Mapping
from typing import Final

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SpanExporter
from opentelemetry.util.types import AttributeValue

from lc_otel._export import endpoints
from lc_otel._export.endpoints import (
    DEFAULT_EXPORT_FILE,
    LC_OTEL_EXPORT_FILE,
    LC_OTEL_EXPORT_TIMEOUT,
    LC_OTEL_RETRY_AFTER,
    OTEL_SDK_DISABLED,
    Protocol,
    without_userinfo,
)
from lc_otel._export.endpoints import env as _env
from lc_otel._export.metrics_setup import Request, configure_metrics_and_events
from lc_otel._export.pipeline import BoundedBatchProcessor, ExportGuard
from lc_otel._export.sdk_env import check_exporter_variables, check_sdk_variables
from lc_otel._internal_errors import report_internal_error
from lc_otel._settings import env_bool, env_number

logger: Final = logging.getLogger("lc_otel")

# --- the variables only spans read (.endpoints has the shared ones; docs/export.md has them all) ---------

LC_OTEL_SHUTDOWN_TIMEOUT: Final = "LC_OTEL_SHUTDOWN_TIMEOUT"
"""Seconds the final flush at interpreter exit may take, whatever the backend does. Default 4."""

OTEL_SERVICE_NAME: Final = "OTEL_SERVICE_NAME"
OTEL_RESOURCE_ATTRIBUTES: Final = "OTEL_RESOURCE_ATTRIBUTES"
OTEL_BSP_MAX_QUEUE_SIZE: Final = "OTEL_BSP_MAX_QUEUE_SIZE"
OTEL_BSP_MAX_EXPORT_BATCH_SIZE: Final = "OTEL_BSP_MAX_EXPORT_BATCH_SIZE"
OTEL_BSP_SCHEDULE_DELAY: Final = "OTEL_BSP_SCHEDULE_DELAY"
OTEL_BSP_EXPORT_TIMEOUT: Final = "OTEL_BSP_EXPORT_TIMEOUT"

_TRACES_PATH: Final = "/v1/traces"


@dataclasses.dataclass(frozen=True)
class ExportTarget:
    """Where spans go: an OTLP endpoint (``protocol`` set) or a file (``path`` set)."""

    protocol: Protocol | None = None
    endpoint: str | None = None
    headers: Mapping[str, str] = dataclasses.field(default_factory=dict)
    path: str | None = None

    @property
    def description(self) -> str:
        """The endpoint URL (without its userinfo: never log a password) or the file path, for log records."""
        if self.endpoint:
            return without_userinfo(self.endpoint)
        return self.path or "?"


def resolve_target(
    endpoint: str | None = None,
    protocol: str | None = None,
    headers: Mapping[str, str] | str | None = None,
    export_file: str | os.PathLike[str] | None = None,
) -> ExportTarget:
    """Decide where spans go, from the arguments and the environment.

    ``endpoint`` and ``LC_OTEL_ENDPOINT`` mean what ``OTEL_EXPORTER_OTLP_ENDPOINT`` means: for HTTP a base URL
    gets ``/v1/traces`` appended, a URL already ending in it is used as is. ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``
    is used as is. With no endpoint anywhere (or an explicit ``export_file``), spans go to a file.
    """
    if export_file is not None:
        return ExportTarget(path=os.fspath(export_file))
    found = endpoints.endpoint("traces", endpoint)
    if found is None:
        return ExportTarget(path=_env(LC_OTEL_EXPORT_FILE) or DEFAULT_EXPORT_FILE)
    url, signal_specific = found
    chosen = endpoints.protocol("traces", protocol, url)
    if chosen == "http/protobuf" and not signal_specific and not url.rstrip("/").endswith(_TRACES_PATH):
        url = url.rstrip("/") + _TRACES_PATH
    return ExportTarget(protocol=chosen, endpoint=url, headers=endpoints.headers("traces", headers))


def otlp_exporter(target: ExportTarget, timeout: float) -> SpanExporter:
    """The OTLP exporter for an endpoint target (gRPC or HTTP/protobuf), with its headers.

    ``OTEL_EXPORTER_OTLP_*`` variables the exporter would raise on are dropped first (one warning each).
    """
    check_exporter_variables()
    if target.protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcExporter

        return GrpcExporter(endpoint=target.endpoint, headers=dict(target.headers), timeout=timeout)
    if target.protocol == "http/protobuf":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpExporter

        return HttpExporter(endpoint=target.endpoint, headers=dict(target.headers), timeout=timeout)
    msg = f"not an OTLP target: {target.description}"
    raise ValueError(msg)


def _exporter(target: ExportTarget, timeout: float) -> SpanExporter | None:
    if target.protocol is not None:
        return otlp_exporter(target, timeout)
    from lc_otel._export.file import file_exporter

    return file_exporter(target.path or DEFAULT_EXPORT_FILE)


def build_processor(
    target: ExportTarget, *, timeout: float | None = None, retry_after: float | None = None
) -> BoundedBatchProcessor | None:
    """The bounded batch processor and guarded exporter for ``target`` (``None`` if it cannot be built)."""
    exporter = _exporter(
        target, timeout if timeout is not None else env_number(LC_OTEL_EXPORT_TIMEOUT, 3.0, minimum=0.1)
    )
    if exporter is None:
        return None
    guard = ExportGuard(
        exporter,
        target=target.description,
        retry_after=retry_after if retry_after is not None else env_number(LC_OTEL_RETRY_AFTER, 5.0, minimum=0.0),
    )
    queue = int(env_number(OTEL_BSP_MAX_QUEUE_SIZE, 2048, minimum=1))
    batch = int(env_number(OTEL_BSP_MAX_EXPORT_BATCH_SIZE, 512, minimum=1))
    # Read here, not by the SDK: a bad value then warns once and falls back, instead of logging a traceback.
    delay = env_number(OTEL_BSP_SCHEDULE_DELAY, 5000.0, minimum=1.0)
    return BoundedBatchProcessor(
        guard,
        max_queue_size=queue,
        schedule_delay_millis=delay,
        export_timeout_millis=env_number(OTEL_BSP_EXPORT_TIMEOUT, 30000.0, minimum=1.0),
        max_export_batch_size=min(batch, queue),
        shutdown_timeout=env_number(LC_OTEL_SHUTDOWN_TIMEOUT, 4.0, minimum=0.0),
    )


_lock = threading.Lock()
_configured: TracerProvider | None = None


def configure(
    service_name: str | None = None,
    endpoint: str | None = None,
    protocol: str | None = None,
    headers: Mapping[str, str] | str | None = None,
    *,
    export_file: str | os.PathLike[str] | None = None,
    resource_attributes: Mapping[str, AttributeValue] | None = None,
    timeout: float | None = None,
    force: bool = False,
) -> trace.TracerProvider:
    """Set up OpenTelemetry export for the process and return the tracer provider.

    Creates an SDK ``TracerProvider`` with a Resource (``service.name`` and ``OTEL_RESOURCE_ATTRIBUTES``), a
    bounded batch processor and an OTLP exporter over gRPC or HTTP/protobuf, and installs it as the global
    provider. With no endpoint configured anywhere the spans go to a local OTLP-JSON-lines file instead
    (``LC_OTEL_EXPORT_FILE``, default ``lc-otel-spans.jsonl``). Spans are
    flushed at interpreter exit; an unreachable backend delays that by at most ``LC_OTEL_SHUTDOWN_TIMEOUT``.

    If the application already installed its own provider, it is left alone and returned; with
    ``force=True`` lc_otel's exporter is added to it (an SDK provider) instead. A second call returns the
    provider of the first.

    Args:
        service_name: ``service.name``; else ``OTEL_SERVICE_NAME``, ``OTEL_RESOURCE_ATTRIBUTES``,
            ``langchain-app``.
        endpoint: What ``OTEL_EXPORTER_OTLP_ENDPOINT`` means: for HTTP a base URL gets ``/v1/traces`` appended,
            a URL already ending in it is used as is.
        protocol: ``grpc`` or ``http/protobuf``; else the variables; else ``grpc`` for port 4317 and
            ``http/protobuf`` otherwise.
        headers: Request headers (authentication), as a mapping or ``k1=v1,k2=v2``.
        export_file: Write spans to this OTLP-JSON-lines file, whatever endpoint is configured.
        resource_attributes: More resource attributes (``OTEL_RESOURCE_ATTRIBUTES`` is read too).
        timeout: Seconds one export may take (``LC_OTEL_EXPORT_TIMEOUT``, default 3).
        force: Add lc_otel's export to a provider the application installed, instead of leaving it alone.

    Returns:
        The global tracer provider after the call. Never raises.
    """
    global _configured  # noqa: PLW0603 - one provider per process, like OpenTelemetry's own global
    try:
        check_sdk_variables()  # set since lc_otel was imported? TracerProvider() reads them again
        # Metrics (and GenAI events) next to the spans, once per process; an application's own providers stay.
        configure_metrics_and_events(
            Request(service_name, endpoint, protocol, headers, export_file, resource_attributes, timeout)
        )
        with _lock:
            current = trace.get_tracer_provider()
            if _configured is not None and not force:
                return _configured
            if env_bool(OTEL_SDK_DISABLED, False):
                logger.info("lc_otel: %s is set; not exporting spans", OTEL_SDK_DISABLED)
                return current
            target = resolve_target(endpoint, protocol, headers, export_file)
            owned = not isinstance(current, trace.ProxyTracerProvider)
            if owned and not force:
                logger.info(
                    "lc_otel: the application already set a tracer provider; leaving it alone "
                    "(configure(force=True) adds lc_otel's exporter to it)"
                )
                return current
            processor = build_processor(target, timeout=timeout)
            if owned and isinstance(current, TracerProvider):
                if processor is not None:
                    current.add_span_processor(processor)
                return current
            provider = TracerProvider(resource=endpoints.resource(service_name, resource_attributes))
            if processor is not None:
                provider.add_span_processor(processor)
            if owned:
                logger.warning(
                    "lc_otel: the application's tracer provider is not an SDK one; "
                    "lc_otel's provider is returned but not installed globally"
                )
                return provider
            trace.set_tracer_provider(provider)
            _configured = provider
            logger.info("lc_otel: exporting spans to %s", target.description)
            return provider
    except Exception as error:  # noqa: BLE001 - configuration must never break the application
        report_internal_error("configure", error)
        return trace.get_tracer_provider()

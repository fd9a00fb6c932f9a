"""Where exports go: the variables and rules the spans' set-up and the metrics' and events' set-up share.

Each signal (``traces``, ``metrics``, ``logs``) reads, highest first: an explicit argument, an ``LC_OTEL_*``
variable, the signal's own ``OTEL_EXPORTER_OTLP_<SIGNAL>_*`` variable, the shared ``OTEL_EXPORTER_OTLP_*``
variable, the default. A bad value logs one warning and falls back. :mod:`.configure` (spans) and
:mod:`.metrics_setup` (metrics and events) both build on this module, which imports neither.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping
from typing import Final, Literal
from urllib.parse import urlsplit

from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.util.re import parse_env_headers
from opentelemetry.util.types import AttributeValue

logger: Final = logging.getLogger("lc_otel")

Protocol = Literal["grpc", "http/protobuf"]

# --- the variables (docs/export.md has them in one table) ----------------------------------------------

LC_OTEL_ENDPOINT: Final = "LC_OTEL_ENDPOINT"
"""Like ``OTEL_EXPORTER_OTLP_ENDPOINT`` (a base URL; ``/v1/traces`` is added for HTTP), but wins over it."""

LC_OTEL_PROTOCOL: Final = "LC_OTEL_PROTOCOL"
"""``grpc`` or ``http/protobuf``; wins over ``OTEL_EXPORTER_OTLP_PROTOCOL``."""

LC_OTEL_EXPORT_FILE: Final = "LC_OTEL_EXPORT_FILE"
"""The OTLP-JSON-lines file spans go to when no endpoint is configured. Default ``lc-otel-spans.jsonl``."""

LC_OTEL_EXPORT_TIMEOUT: Final = "LC_OTEL_EXPORT_TIMEOUT"
"""Seconds one export may take, retries included. Default 3."""

LC_OTEL_RETRY_AFTER: Final = "LC_OTEL_RETRY_AFTER"
"""Seconds to stop exporting after a failed export (spans meanwhile are dropped and counted). Default 5."""

OTEL_SDK_DISABLED: Final = "OTEL_SDK_DISABLED"
"""``true``: no spans, metrics nor events are exported."""

OTEL_EXPORTER_OTLP_ENDPOINT: Final = "OTEL_EXPORTER_OTLP_ENDPOINT"
OTEL_EXPORTER_OTLP_PROTOCOL: Final = "OTEL_EXPORTER_OTLP_PROTOCOL"
OTEL_EXPORTER_OTLP_HEADERS: Final = "OTEL_EXPORTER_OTLP_HEADERS"

DEFAULT_EXPORT_FILE: Final = "lc-otel-spans.jsonl"
DEFAULT_SERVICE_NAME: Final = "langchain-app"
GRPC_PORT: Final = 4317
"""OTLP/gRPC's port everywhere: an endpoint on it with no protocol said is gRPC (HTTP there could only fail)."""
_PROTOCOLS: Final[tuple[Protocol, ...]] = ("grpc", "http/protobuf")
# Everything up to the last "@" before the path: a URL's user and password (greedy, so a password holding
# an unescaped "@" or "/" is removed whole; a path holding "@" loses a little too much, never too little).
_USERINFO: Final = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)?[^\s]*@")


def signal_variable(signal: str, suffix: str) -> str:
    """The signal's own variable: ``("metrics", "ENDPOINT")`` gives ``OTEL_EXPORTER_OTLP_METRICS_ENDPOINT``."""
    return f"OTEL_EXPORTER_OTLP_{signal.upper()}_{suffix}"


def without_userinfo(url: str) -> str:
    """``url`` with its ``user:password@`` part removed, for log records and messages.

    >>> without_userinfo("https://user:secret@collector.example:4318/v1/traces")
    'https://collector.example:4318/v1/traces'
    """
    return _USERINFO.sub(lambda match: match.group("scheme") or "", url, count=1)


def env(name: str) -> str | None:
    """The variable's value without surrounding blanks; ``None`` when unset or blank."""
    value = os.environ.get(name)
    return value.strip() if value and value.strip() else None


def first_set(*candidates: tuple[str | None, str]) -> tuple[str | None, str]:
    """The first ``(value, source)`` whose value is set, else ``(None, "")``."""
    for value, source in candidates:
        if value:
            return value, source
    return None, ""


def valid_url(value: str, source: str) -> str | None:
    """``value`` as an http(s) URL (a bare ``host:port`` gets ``http://``), or ``None`` with one warning."""
    url = value if "://" in value else f"http://{value}"  # a bare host:port means a local plain-text collector
    try:
        parts = urlsplit(url)
        _ = parts.port  # raises ValueError for a bad port
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in {"http", "https"} or not parts.hostname:
        logger.warning("lc_otel: %s=%r is not an http(s) URL; ignoring it", source, without_userinfo(value))
        return None
    return url


def endpoint(signal: str, explicit: str | None) -> tuple[str, bool] | None:
    """The first valid endpoint of ``signal`` and whether it is the signal's own (used as is), else ``None``.

    Highest first: the argument, ``LC_OTEL_ENDPOINT``, ``OTEL_EXPORTER_OTLP_<SIGNAL>_ENDPOINT``,
    ``OTEL_EXPORTER_OTLP_ENDPOINT``; a blank value is skipped, an invalid one warns and is skipped.
    """
    own = signal_variable(signal, "ENDPOINT")
    for value, source in (
        (explicit, "endpoint"),
        (env(LC_OTEL_ENDPOINT), LC_OTEL_ENDPOINT),
        (env(own), own),
        (env(OTEL_EXPORTER_OTLP_ENDPOINT), OTEL_EXPORTER_OTLP_ENDPOINT),
    ):
        if value and value.strip():
            url = valid_url(value.strip(), source)
            if url is not None:
                return url, source == own
    return None


def protocol(signal: str, explicit: str | None, endpoint: str | None) -> Protocol:
    """The OTLP protocol of ``signal``: the argument, else the variables, else inferred from the port."""
    value, source = first_set(
        (explicit, "protocol"),
        (env(LC_OTEL_PROTOCOL), LC_OTEL_PROTOCOL),
        (env(signal_variable(signal, "PROTOCOL")), signal_variable(signal, "PROTOCOL")),
        (env(OTEL_EXPORTER_OTLP_PROTOCOL), OTEL_EXPORTER_OTLP_PROTOCOL),
    )
    inferred: Protocol = "http/protobuf"
    if endpoint is not None and urlsplit(endpoint).port == GRPC_PORT:
        inferred = "grpc"
    if value is None:
        return inferred
    normalised = value.strip().lower()
    for known in _PROTOCOLS:
        if normalised == known or (normalised == "http" and known == "http/protobuf"):
            return known
    logger.warning("lc_otel: %s=%r is not supported (grpc, http/protobuf); using %r", source, value, inferred)
    return inferred


def headers(signal: str, explicit: Mapping[str, str] | str | None) -> dict[str, str]:
    """The request headers of ``signal``: the argument (a mapping or ``k1=v1,k2=v2``), else the variables."""
    if isinstance(explicit, Mapping):
        return {str(k): str(v) for k, v in explicit.items()}
    raw, _ = first_set(
        (explicit, "headers"),
        (env(signal_variable(signal, "HEADERS")), signal_variable(signal, "HEADERS")),
        (env(OTEL_EXPORTER_OTLP_HEADERS), OTEL_EXPORTER_OTLP_HEADERS),
    )
    return dict(parse_env_headers(raw, liberal=True)) if raw else {}


def resource(service_name: str | None, attributes: Mapping[str, AttributeValue] | None) -> Resource:
    """The process's resource; ``Resource.create`` reads ``OTEL_RESOURCE_ATTRIBUTES`` and ``OTEL_SERVICE_NAME``."""
    attrs: dict[str, AttributeValue] = dict(attributes or {})
    if service_name:
        attrs[SERVICE_NAME] = service_name
    created = Resource.create(attrs)
    if not service_name and str(created.attributes.get(SERVICE_NAME, "")).startswith("unknown_service"):
        created = created.merge(Resource({SERVICE_NAME: DEFAULT_SERVICE_NAME}))
    return created

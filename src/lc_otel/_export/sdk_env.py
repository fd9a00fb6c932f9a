"""The ``OTEL_*`` variables that the SDK and the OTLP exporters parse themselves, checked before they do.

The SDK reads its span limits when ``opentelemetry.sdk.trace`` is imported and again for every
``TracerProvider``, and raises ``ValueError`` on a value like ``abc``; the OTLP exporters raise on an unknown
compression (gRPC) or a timeout that is not a number, when they are built. Either would break the import of
lc_otel or leave tracing off. So lc_otel checks those variables first: a value the SDK would reject is
logged once and removed from ``os.environ``, and the SDK's default applies, for lc_otel's provider and for
any the application builds. Values the SDK accepts are left exactly as they are.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Callable, Iterable
from typing import Final

logger: Final = logging.getLogger("lc_otel")

SPAN_LIMIT_VARIABLES: Final = (
    "OTEL_ATTRIBUTE_COUNT_LIMIT",
    "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT",
    "OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT",
    "OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT",
    "OTEL_SPAN_EVENT_COUNT_LIMIT",
    "OTEL_SPAN_LINK_COUNT_LIMIT",
    "OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT",
    "OTEL_LINK_ATTRIBUTE_COUNT_LIMIT",
)
"""Read by ``SpanLimits``: a non-negative integer, or ``unset``."""

_SIGNALS: Final = ("", "TRACES_", "METRICS_", "LOGS_")
"""The shared variable and each signal's own (``OTEL_EXPORTER_OTLP_TRACES_COMPRESSION``, ...)."""


def _per_signal(*suffixes: str) -> tuple[str, ...]:
    return tuple(f"OTEL_EXPORTER_OTLP_{signal}{suffix}" for suffix in suffixes for signal in _SIGNALS)


COMPRESSION_VARIABLES: Final = _per_signal("COMPRESSION")
"""Read by the OTLP exporters: ``gzip``, ``deflate`` or ``none``."""

TIMEOUT_VARIABLES: Final = _per_signal("TIMEOUT")
"""Read by the OTLP exporters: seconds, a positive number."""

FILE_VARIABLES: Final = _per_signal("CERTIFICATE", "CLIENT_KEY", "CLIENT_CERTIFICATE")
"""Read by the OTLP exporters for TLS: a readable file."""

COMPRESSIONS: Final = frozenset({"gzip", "deflate", "none"})


def _limit_ok(value: str) -> bool:
    text = value.strip().lower()
    return text == "unset" or (text.isdecimal() and text.isascii())


def _compression_ok(value: str) -> bool:
    return value.strip().lower() in COMPRESSIONS


def _timeout_ok(value: str) -> bool:
    try:
        seconds = float(value)
    except ValueError:
        return False
    return math.isfinite(seconds) and seconds > 0


def _file_ok(value: str) -> bool:
    return os.path.isfile(value) and os.access(value, os.R_OK)


def _drop_bad(names: Iterable[str], valid: Callable[[str], bool], expected: str) -> None:
    for name in names:
        value = os.environ.get(name)
        if value is None or valid(value):
            continue
        logger.warning("lc_otel: %s=%r is not %s; ignoring it (the default applies)", name, value, expected)
        os.environ.pop(name, None)


def check_sdk_variables() -> None:
    """Remove span-limit variables the SDK would raise on (at its import), one warning each. Never raises."""
    try:
        _drop_bad(SPAN_LIMIT_VARIABLES, _limit_ok, "a non-negative integer or 'unset'")
    except Exception:  # an odd os.environ must not break the import of lc_otel
        logger.debug("lc_otel: could not check the OTEL_* limit variables", exc_info=True)


def check_exporter_variables() -> None:
    """Remove OTLP exporter variables the exporters would raise on or fail with, one warning each.

    The certificate and key files are checked whatever the endpoint's scheme: the gRPC exporter reads
    ``OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE`` before it knows whether the channel is insecure.
    """
    _drop_bad(COMPRESSION_VARIABLES, _compression_ok, "one of gzip, deflate, none")
    _drop_bad(TIMEOUT_VARIABLES, _timeout_ok, "a positive number of seconds")
    _drop_bad(FILE_VARIABLES, _file_ok, "a readable file")

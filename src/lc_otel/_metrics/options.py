"""What the metrics and events record, from the environment.

- ``LC_OTEL_METRICS`` (``true``): record the GenAI metrics when a MeterProvider is there to take them.
- ``LC_OTEL_METRICS_METADATA_KEYS``: run metadata keys (comma-separated) whose values become metric attributes
  (``langchain.metadata.<key>``). None by default: every distinct value is a new time series, and the number
  of series is the user's bill.
- ``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT`` = ``EVENT_ONLY`` / ``SPAN_AND_EVENT``, or
  ``OTEL_INSTRUMENTATION_GENAI_EMIT_EVENT`` = ``true``: emit ``gen_ai.client.inference.operation.details``
  with the messages (``OTEL_INSTRUMENTATION_GENAI_EMIT_EVENT`` wins when both are set).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from typing import Final

from lc_otel._settings import OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT, env_bool

LC_OTEL_METRICS: Final = "LC_OTEL_METRICS"
LC_OTEL_METRICS_METADATA_KEYS: Final = "LC_OTEL_METRICS_METADATA_KEYS"
OTEL_INSTRUMENTATION_GENAI_EMIT_EVENT: Final = "OTEL_INSTRUMENTATION_GENAI_EMIT_EVENT"

_EVENT_MODES: Final = frozenset({"event_only", "span_and_event"})


@dataclasses.dataclass(frozen=True)
class TelemetryOptions:
    """The metrics and events switches of one handler."""

    metrics: bool = True
    """Record metrics when a MeterProvider is there."""
    emit_events: bool = False
    """Emit the inference details event (with content) when a LoggerProvider is there."""
    metadata_keys: tuple[str, ...] = ()
    """Metadata keys recorded as metric attributes."""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> TelemetryOptions:
        """Read the options; a bad value warns and falls back, as every lc_otel variable does."""
        env = os.environ if environ is None else environ
        mode = env.get(OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT, "").strip().lower()
        keys = tuple(
            dict.fromkeys(key.strip() for key in env.get(LC_OTEL_METRICS_METADATA_KEYS, "").split(",") if key.strip())
        )
        return cls(
            metrics=env_bool(LC_OTEL_METRICS, True, env),
            emit_events=env_bool(OTEL_INSTRUMENTATION_GENAI_EMIT_EVENT, mode in _EVENT_MODES, env),
            metadata_keys=keys,
        )

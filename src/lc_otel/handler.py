"""``OpenTelemetryCallbackHandler``: LangChain callback events in, OpenTelemetry spans out.

Each ``on_*`` method is thin: it looks the run up, asks a pure function for attributes and starts or ends a
span. The callbacks live in one mixin per kind of run (``lc_otel._tracing.chain``, ``.model``, ``.tool``) over
the shared span lifecycle (``lc_otel._tracing.run_spans``); this class puts them together with the public
constructor. Parents come from ``parent_run_id`` and are passed explicitly to ``start_span``; the handler
never attaches a context inside a callback (see ``docs/design.md``), so the caller's current span is never
changed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from opentelemetry._logs import LoggerProvider
from opentelemetry.metrics import MeterProvider
from opentelemetry.trace import TracerProvider

from lc_otel._propagation import install as propagation
from lc_otel._settings import Settings, compile_patterns
from lc_otel._tracing import cancellation
from lc_otel._tracing.chain import ChainCallbacks
from lc_otel._tracing.model import ModelCallbacks
from lc_otel._tracing.tool import ToolCallbacks


class OpenTelemetryCallbackHandler(ChainCallbacks, ModelCallbacks, ToolCallbacks):
    """A LangChain callback handler that records every run as an OpenTelemetry span.

    Pass it as a constructor callback (``ChatOpenAI(callbacks=[handler])``) or a request callback
    (``chain.invoke(x, {"callbacks": [handler]})``), or install it process-wide with :func:`lc_otel.instrument`.

    Args:
        tracer_provider: The provider to create spans with; the global one when ``None``.
        capture_content: Record prompts, completions, inputs and outputs. ``None`` reads
            ``LC_OTEL_CAPTURE_CONTENT`` / ``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT`` (off by default).
        max_content_length: Characters kept of each captured value (``LC_OTEL_MAX_CONTENT_LENGTH``, 8192).
        max_open_runs: Open runs tracked at once before the oldest is evicted (``LC_OTEL_MAX_OPEN_RUNS``, 10000).
        max_run_age: Seconds a run may stay open before it is evicted (``LC_OTEL_MAX_RUN_AGE``, 3600).
        stream_chunk_events: Record one span event per streamed chunk (``LC_OTEL_STREAM_CHUNK_EVENTS``, off).
        redact_patterns: Extra regular expressions whose matches are redacted in everything exported
            (``LC_OTEL_REDACT_PATTERNS``); one that does not compile is skipped with a warning.
        settings: All of the above at once; read from the environment when ``None``. Explicit keyword
            arguments win over it.
        meter_provider: Where the GenAI metrics go (token usage, durations); the global provider when
            ``None``, and nothing is recorded while that is the API's no-op default (see ``docs/metrics.md``).
        logger_provider: Where the ``gen_ai.client.inference.operation.details`` events go when
            ``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT`` asks for them; the global provider when ``None``.
    """

    def __init__(
        self,
        tracer_provider: TracerProvider | None = None,
        *,
        capture_content: bool | None = None,
        max_content_length: int | None = None,
        max_open_runs: int | None = None,
        max_run_age: float | None = None,
        stream_chunk_events: bool | None = None,
        redact_patterns: Sequence[str | re.Pattern[str]] | None = None,
        settings: Settings | None = None,
        meter_provider: MeterProvider | None = None,
        logger_provider: LoggerProvider | None = None,
    ) -> None:
        overrides: dict[str, Any] = {
            "capture_content": capture_content,
            "max_content_length": max_content_length,
            "max_open_runs": max_open_runs,
            "max_run_age": max_run_age,
            "stream_chunk_events": stream_chunk_events,
            "redact_patterns": None if redact_patterns is None else compile_patterns(redact_patterns),
        }
        resolved = (settings or Settings.from_env()).replace(
            **{key: value for key, value in overrides.items() if value is not None}
        )
        super().__init__(tracer_provider, resolved, meter_provider, logger_provider)
        # Runs LangChain never ends when a task is cancelled at the wrong moment end at once (see cancellation);
        # first, so the propagation wrappers go around these and uninstall restores exactly what it found.
        cancellation.install()
        # Spans other libraries create inside a step nest under it, also without instrument() (lc_otel._propagation).
        propagation.install_by_default()

    # One handler instance must stay one span table, even when LangChain deep-copies a config.
    def __copy__(self) -> OpenTelemetryCallbackHandler:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> OpenTelemetryCallbackHandler:
        return self


__all__ = ["OpenTelemetryCallbackHandler"]

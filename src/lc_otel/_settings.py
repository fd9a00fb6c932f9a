"""Handler settings and the environment variables behind them.

Precedence, highest first: an explicit argument, an ``LC_OTEL_*`` variable, a standard ``OTEL_*`` variable,
the default. A bad value logs one warning and falls back; reading settings never raises.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import re
from collections.abc import Mapping
from typing import Any, Final

logger: Final = logging.getLogger("lc_otel")

LC_OTEL_CAPTURE_CONTENT: Final = "LC_OTEL_CAPTURE_CONTENT"
"""``true``/``false``: record prompts, completions, inputs and outputs on spans. Default ``false``."""

OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT: Final = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
"""The OpenTelemetry GenAI switch: ``true``, ``SPAN_ONLY`` or ``SPAN_AND_EVENT`` turn capture on."""

LC_OTEL_MAX_CONTENT_LENGTH: Final = "LC_OTEL_MAX_CONTENT_LENGTH"
"""Characters kept of each captured value. Default 8192."""

LC_OTEL_MAX_OPEN_RUNS: Final = "LC_OTEL_MAX_OPEN_RUNS"
"""Runs tracked at once; past it the oldest open run is ended and marked evicted. Default 10000."""

LC_OTEL_MAX_RUN_AGE: Final = "LC_OTEL_MAX_RUN_AGE"
"""Seconds a run may stay open before it is ended and marked evicted. Default 3600."""

LC_OTEL_STREAM_CHUNK_EVENTS: Final = "LC_OTEL_STREAM_CHUNK_EVENTS"
"""``true``: one ``langchain.stream.chunk`` span event per streamed chunk. Default ``false`` (costly)."""

LC_OTEL_REDACT_PATTERNS: Final = "LC_OTEL_REDACT_PATTERNS"
"""Extra regular expressions, separated by ``,``, whose matches are replaced in captured content."""

_TRUE: Final = frozenset({"1", "true", "yes", "on"})
_FALSE: Final = frozenset({"0", "false", "no", "off", ""})
_GENAI_ON: Final = frozenset({"true", "1", "span_only", "span_and_event"})
_GENAI_OFF: Final = frozenset({"false", "0", "no_content", "event_only", ""})


def _warn(name: str, value: str, fallback: object) -> None:
    logger.warning("lc_otel: %s=%r is not a valid value; using %r", name, value, fallback)


def env_bool(name: str, default: bool, environ: Mapping[str, str] | None = None) -> bool:
    """Read a boolean variable; an unknown value warns and gives ``default``."""
    raw = (os.environ if environ is None else environ).get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    _warn(name, raw, default)
    return default


def env_number(name: str, default: float, *, minimum: float, environ: Mapping[str, str] | None = None) -> float:
    """Read a number at least ``minimum``; a bad value warns and gives ``default``."""
    raw = (os.environ if environ is None else environ).get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = float(raw)
    except ValueError:
        _warn(name, raw, default)
        return default
    # Infinity is no bound (and no int); NaN compares false to everything.
    if not math.isfinite(value) or not value >= minimum:
        _warn(name, raw, default)
        return default
    return value


def _genai_capture(environ: Mapping[str, str]) -> bool | None:
    raw = environ.get(OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT)
    if raw is None:
        return None
    value = raw.strip().lower()
    if value in _GENAI_ON:
        return True
    if value in _GENAI_OFF:
        return False
    _warn(OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT, raw, "NO_CONTENT")
    return False


def _patterns(raw: str | None) -> tuple[re.Pattern[str], ...]:
    if not raw:
        return ()
    compiled: list[re.Pattern[str]] = []
    for part in raw.split(","):
        if not part.strip():
            continue
        try:
            compiled.append(re.compile(part.strip()))
        except re.error:
            _warn(LC_OTEL_REDACT_PATTERNS, part, "pattern skipped")
    return tuple(compiled)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Settings:
    """What the handler records and how much state it may keep."""

    capture_content: bool = False
    """Record prompts, completions, inputs, outputs, tool arguments and results, documents."""

    max_content_length: int = 8192
    """Characters kept of each captured value."""

    max_open_runs: int = 10_000
    """Open runs tracked at once; the oldest is evicted past this."""

    max_run_age: float = 3600.0
    """Seconds before an open run is evicted."""

    stream_chunk_events: bool = False
    """Record a span event per streamed chunk."""

    redact_patterns: tuple[re.Pattern[str], ...] = ()
    """Extra patterns replaced by ``[REDACTED]`` in captured content."""

    def replace(self, **changes: Any) -> Settings:
        """Return a copy with ``changes`` applied."""
        return dataclasses.replace(self, **changes) if changes else self

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read the settings from the environment, warning about and skipping bad values."""
        env = os.environ if environ is None else environ
        # LC_OTEL_* wins over the GenAI switch; a bad LC_OTEL_* value falls back to it, then to the default.
        genai = _genai_capture(env)
        capture = env_bool(LC_OTEL_CAPTURE_CONTENT, bool(genai), env)
        return cls(
            capture_content=capture,
            max_content_length=int(env_number(LC_OTEL_MAX_CONTENT_LENGTH, 8192, minimum=16, environ=env)),
            max_open_runs=int(env_number(LC_OTEL_MAX_OPEN_RUNS, 10_000, minimum=1, environ=env)),
            max_run_age=env_number(LC_OTEL_MAX_RUN_AGE, 3600.0, minimum=0.001, environ=env),
            stream_chunk_events=env_bool(LC_OTEL_STREAM_CHUNK_EVENTS, False, env),
            redact_patterns=_patterns(env.get(LC_OTEL_REDACT_PATTERNS)),
        )

"""Handler settings and the environment variables behind them.

Precedence, highest first: an explicit argument, an ``LC_OTEL_*`` variable, a standard ``OTEL_*`` variable,
the default. A bad value logs one warning and falls back; reading settings never raises.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import os
import re
from collections.abc import Iterable, Mapping
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
"""Extra regular expressions whose matches are replaced in everything exported: one pattern, a JSON list of
patterns (``["cust-[0-9]+", "order-[0-9]+"]``), or one pattern per line. A comma is part of a pattern."""

LC_OTEL_MAX_EXCEPTION_LENGTH: Final = "LC_OTEL_MAX_EXCEPTION_LENGTH"
"""Characters kept of an exception's message, of its stacktrace (the end) and of the status description.
Default 8192."""

LC_OTEL_MAX_TAG_ATTRIBUTES: Final = "LC_OTEL_MAX_TAG_ATTRIBUTES"
"""``langchain.tag.<tag>`` attributes per span (``langchain.tags`` lists up to 128 tags). Default 32."""

LC_OTEL_MAX_METADATA_ATTRIBUTES: Final = "LC_OTEL_MAX_METADATA_ATTRIBUTES"
"""``langchain.metadata.<key>`` attributes per span. Default 32."""

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


_warned_patterns: set[str] = set()


def _split_patterns(raw: str) -> list[str]:
    r"""A JSON list of strings, else one pattern per line (a comma belongs to its pattern: ``\d{13,16}``).

    In the JSON list a backslash may be doubled, as JSON wants, or written once, as regular expressions are
    (a list with no doubled backslash is read that way: ``\b`` is then a word boundary, not a backspace).
    """
    text = raw.strip()
    if text.startswith('["'):
        doubled = text.replace("\\", "\\\\")
        for candidate in (text, doubled) if "\\\\" in text else (doubled, text):
            try:
                parsed = json.loads(candidate)
            except ValueError:
                continue
            if isinstance(parsed, list) and all(isinstance(item, str) for item in parsed):
                return parsed
    return text.splitlines()


def compile_patterns(patterns: Iterable[str | re.Pattern[str]]) -> tuple[re.Pattern[str], ...]:
    """Compile redaction patterns; one that does not compile is skipped with a warning (once per pattern)."""
    compiled: list[re.Pattern[str]] = []
    for pattern in patterns:
        if isinstance(pattern, re.Pattern):
            compiled.append(pattern)
            continue
        if not isinstance(pattern, str) or not pattern.strip():
            continue
        try:
            compiled.append(re.compile(pattern.strip()))
        except (re.error, RecursionError, OverflowError) as error:
            if pattern not in _warned_patterns:
                _warned_patterns.add(pattern)
                logger.warning(
                    "lc_otel: %s: the pattern %r does not compile (%s); skipped, the others apply",
                    LC_OTEL_REDACT_PATTERNS,
                    pattern,
                    error,
                )
    return tuple(compiled)


def _patterns(raw: str | None) -> tuple[re.Pattern[str], ...]:
    if not raw or not raw.strip():
        return ()
    return compile_patterns(_split_patterns(raw))


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
    """Extra patterns replaced by ``[REDACTED]`` in every exported string, after the built-in ones."""

    max_exception_length: int = 8192
    """Characters kept of an exception's message, stacktrace (its end) and status description."""

    max_tag_attributes: int = 32
    """``langchain.tag.<tag>`` attributes per span; ``langchain.tags`` lists up to 128 tags."""

    max_metadata_attributes: int = 32
    """``langchain.metadata.<key>`` attributes per span."""

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
            max_exception_length=int(env_number(LC_OTEL_MAX_EXCEPTION_LENGTH, 8192, minimum=16, environ=env)),
            max_tag_attributes=int(env_number(LC_OTEL_MAX_TAG_ATTRIBUTES, 32, minimum=0, environ=env)),
            max_metadata_attributes=int(env_number(LC_OTEL_MAX_METADATA_ATTRIBUTES, 32, minimum=0, environ=env)),
        )

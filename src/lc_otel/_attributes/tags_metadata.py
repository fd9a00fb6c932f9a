"""Turn LangChain run payloads (names, tags, metadata) into span attributes.

Pure functions: no state, no OpenTelemetry calls. Values are coerced to what every OTLP backend accepts
(str, bool, int, float and homogeneous sequences of them); nothing here raises on odd input.
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final, Protocol, TypeGuard

from opentelemetry.util.types import AttributeValue

from lc_otel._attributes import semconv as sc

MAX_INDEXED_LENGTH: Final = 255
"""Backends index short strings only (Jaeger, Elasticsearch keyword fields): metadata is cut to this."""

_STRUCTURAL_TAG_PREFIXES: Final = ("seq:step:", "graph:step:", "map:key:", "retry:attempt:", "langsmith:")
_RETRY_TAG: Final = "retry:attempt:"
_TAG_KEY_UNSAFE: Final = re.compile(r"[^A-Za-z0-9_.-]")
_REDACTED: Final = "[REDACTED]"
_REDACT_WINDOW: Final = MAX_INDEXED_LENGTH + 512
"""Text redacted before the cut to 255, so a secret that straddles the cut is still recognised whole."""
_JSON_KEY: Final = re.compile(r'"((?:[^"\\]|\\.)*)":')
_LANGCHAIN_METADATA_KEYS: Final = frozenset(
    {
        "lc_versions",
        "lc_agent_name",
        # The ``ls_*`` keys LangChain sets on model calls (every other ``ls_*`` key is skipped too, more slowly).
        "ls_provider",
        "ls_model_name",
        "ls_model_type",
        "ls_temperature",
        "ls_max_tokens",
        "ls_stop",
        "ls_integration",
        "ls_structured_output_format",
    }
)
"""LangChain's own bookkeeping keys: recorded as GenAI attributes by the model code, or not at all."""
_CONVERSATION_KEYS: Final = ("thread_id", "session_id", "conversation_id")
_LANGGRAPH_RENAMES: Final = {"langgraph_node": sc.LANGGRAPH_NODE, "langgraph_step": sc.LANGGRAPH_STEP}

Attributes = dict[str, AttributeValue]


class Redacts(Protocol):
    """What metadata needs of :class:`lc_otel._attributes.content.Redactor` (kept abstract: ``_content`` imports us)."""

    def text(self, value: str) -> str:
        """Replace every credential-looking match in ``value``."""

    def value(self, value: Any, depth: int = 0) -> Any:
        """Return a JSON-friendly copy of ``value`` with secrets replaced."""

    def __hash__(self) -> int:
        """Hashable by identity: redacted text is cached per redactor."""


@functools.cache
def _builtin_redactor() -> Redacts:
    from lc_otel._attributes.content import Redactor  # here, not at the top: _content imports this module

    return Redactor(max_length=MAX_INDEXED_LENGTH)


@functools.lru_cache(maxsize=1024)
def _is_secret_key(key: str) -> bool:
    from lc_otel._attributes.content import is_secret_key

    return is_secret_key(key)


def is_mapping(value: Any) -> TypeGuard[Mapping[str, Any]]:
    """``isinstance(value, Mapping)``, with ``None`` and dicts (nearly every case) decided without the ABC check."""
    if value is None:
        return False
    return isinstance(value, (dict, Mapping))  # dict first: a cheap exact check before the ABC machinery


def is_structural_tag(tag: str) -> bool:
    """Tell whether LangChain or LangGraph added ``tag`` to describe the run's position, not the user."""
    return tag.startswith(_STRUCTURAL_TAG_PREFIXES)


def retry_attempt(tags: Iterable[Any]) -> int | None:
    """Return ``N`` of LangChain's ``retry:attempt:N`` tag (``with_retry``'s attempts 2, 3, ...), if any."""
    for tag in tags:
        if isinstance(tag, str) and tag.startswith(_RETRY_TAG):
            number = tag[len(_RETRY_TAG) :]
            return int(number) if number.isdigit() else None
    return None


def tag_key(tag: str) -> str:
    """Return the ``langchain.tag.<tag>`` attribute key, with unsafe characters replaced by ``_``."""
    return sc.TAG_PREFIX + _TAG_KEY_UNSAFE.sub("_", tag)


def user_tags(tags: Iterable[Any] | None) -> list[str]:
    """Keep the user's tags in order, once each: no structural tags, no empty ones, strings only."""
    if not tags:
        return []
    seen: dict[str, None] = {}
    for tag in tags:
        text = tag if isinstance(tag, str) else coerce_text(tag)
        text = text.strip()[:MAX_INDEXED_LENGTH]
        if text and not is_structural_tag(text):
            seen[text] = None
    return list(seen)


def tag_attributes(tags: Iterable[Any] | None, into: Attributes) -> None:
    """Add ``langchain.tags`` and one ``langchain.tag.<tag>=true`` per user tag to ``into``."""
    kept = user_tags(tags)
    if not kept:
        return
    into[sc.TAGS] = kept
    for tag in kept:
        into[tag_key(tag)] = True


def coerce_text(value: Any) -> str:
    """Render any value as text, never raising."""
    try:
        return value if isinstance(value, str) else str(value)
    except Exception:  # noqa: BLE001 - a __str__ that raises must not break tracing
        return f"<unprintable {type(value).__name__}>"


def to_json(value: Any) -> str:
    """Encode ``value`` as compact JSON; unknown objects become their ``str``; cycles become text."""
    try:
        return json.dumps(value, separators=(",", ":"), default=coerce_text, ensure_ascii=False)
    except (ValueError, TypeError, RecursionError):
        return coerce_text(value)


def scalar_value(value: Any, max_length: int) -> AttributeValue | None:
    """Coerce a metadata value: scalars kept (strings cut), ``None`` dropped, the rest as compact JSON."""
    if value is None:
        return None
    if isinstance(value, str):
        return value[:max_length]
    if isinstance(value, bool | int):
        # OTLP ints are 64-bit: a larger Python int would be dropped by the exporter.
        if isinstance(value, bool) or -(2**63) <= value < 2**63:
            return value
        return str(value)[:max_length]
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return f"<{len(value)} bytes>"
    return to_json(value)[:max_length]


@functools.lru_cache(maxsize=1024)
def _redact_text(redactor: Redacts, text: str) -> str:
    # Cached: every run of a request carries the same metadata, and the patterns are the costly part.
    return redactor.text(text)[:MAX_INDEXED_LENGTH]


def _names_a_secret(json_text: str) -> bool:
    """Tell whether encoded JSON has a credential-like key somewhere inside."""
    return '":' in json_text and any(_is_secret_key(key) for key in _JSON_KEY.findall(json_text))


def _redacted_metadata_value(key: str, value: Any, redactor: Redacts) -> AttributeValue | None:
    """Coerce one metadata value like :func:`scalar_value`, with secrets replaced (metadata is always sent)."""
    if value is None:
        return None
    if _is_secret_key(key):
        return _REDACTED
    if isinstance(value, str):
        return _redact_text(redactor, value[:_REDACT_WINDOW])
    if isinstance(value, bool | int | float | bytes | bytearray | memoryview):
        return scalar_value(value, MAX_INDEXED_LENGTH)
    text = to_json(value)
    if _names_a_secret(text):
        text = to_json(redactor.value(value))
    return _redact_text(redactor, text[:_REDACT_WINDOW])


def metadata_attributes(metadata: Mapping[str, Any] | None, into: Attributes, redactor: Redacts | None = None) -> None:
    """Add ``langchain.metadata.<key>`` entries, LangGraph markers and the conversation id to ``into``.

    Metadata is recorded whatever the content setting, so secrets are replaced here: values under a
    credential-like key, and text matching a credential pattern (the built-in ones, or ``redactor``'s, which
    adds the configured ``LC_OTEL_REDACT_PATTERNS``).
    """
    if not metadata or (type(metadata) is not dict and not is_mapping(metadata)):
        return
    redacts = redactor if redactor is not None else _builtin_redactor()
    for key, value in metadata.items():
        if key in _LANGCHAIN_METADATA_KEYS:  # a model call's metadata is mostly these: one set lookup each
            continue
        if not isinstance(key, str) or not key or key.startswith("ls_"):
            continue
        renamed = _LANGGRAPH_RENAMES.get(key)
        coerced = _redacted_metadata_value(key, value, redacts)
        if coerced is None:
            continue
        into[renamed or sc.METADATA_PREFIX + key] = coerced
    if metadata.keys().isdisjoint(_CONVERSATION_KEYS):
        return
    for key in _CONVERSATION_KEYS:
        conversation = metadata.get(key)
        if conversation is not None and conversation != "":
            into[sc.GEN_AI_CONVERSATION_ID] = coerce_text(conversation)[:MAX_INDEXED_LENGTH]
            break


def run_name(serialized: Mapping[str, Any] | None, name: Any, default: str = "Unnamed") -> str:
    """Resolve a run's name the way LangChain's tracers do: ``name``, then the serialized name or id."""
    if isinstance(name, str) and name:
        return name
    if type(serialized) is dict or is_mapping(serialized):
        serialized_name = serialized.get("name")
        if isinstance(serialized_name, str) and serialized_name:
            return serialized_name
        ids = serialized.get("id")
        if (isinstance(ids, list) or (isinstance(ids, Sequence) and not isinstance(ids, str))) and ids:
            last = ids[-1]
            if isinstance(last, str) and last:
                return last
    return default

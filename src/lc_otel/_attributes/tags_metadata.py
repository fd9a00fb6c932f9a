"""Turn LangChain run payloads (names, tags, metadata) into span attributes.

Pure functions: no state, no OpenTelemetry calls. Values are coerced to what every OTLP backend accepts
(str, bool, int, float and homogeneous sequences of them), redacted (tags and metadata are recorded whatever
the content setting) and bounded: each string to 255 characters, the tags and metadata of one span to a number
of attributes, so they never crowd lc_otel's own attributes out of the SDK's attribute limit. Nothing here
raises on odd input.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final, TypeGuard

from opentelemetry.util.types import AttributeValue

from lc_otel._attributes import semconv as sc
from lc_otel._attributes.redaction import (
    BUILTIN_REDACTOR,
    MAX_NAME_LENGTH,
    REDACTED,
    Redactor,
    coerce_text,
    is_secret_key,
)
from lc_otel._settings import Settings

MAX_TAG_ATTRIBUTES: Final = Settings.max_tag_attributes
"""``langchain.tag.<tag>`` attributes per span, by default (``LC_OTEL_MAX_TAG_ATTRIBUTES``)."""
MAX_METADATA_ATTRIBUTES: Final = Settings.max_metadata_attributes
"""``langchain.metadata.<key>`` attributes per span, by default (``LC_OTEL_MAX_METADATA_ATTRIBUTES``)."""
MAX_TAGS: Final = 128
"""Tags kept in the ``langchain.tags`` list (one attribute, whatever its length)."""
INT64_END: Final = 2**63
"""OTLP ints are 64-bit: the exporter drops a span with a larger one (and logs a traceback)."""

_STRUCTURAL_TAG_PREFIXES: Final = ("seq:step:", "graph:step:", "map:key:", "retry:attempt:", "langsmith:")
_RETRY_TAG: Final = "retry:attempt:"
_TAG_KEY_UNSAFE: Final = re.compile(r"[^A-Za-z0-9_.-]")
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


def is_mapping(value: Any) -> TypeGuard[Mapping[str, Any]]:
    """``isinstance(value, Mapping)``, with ``None`` and dicts (nearly every case) decided without the ABC check."""
    if value is None:
        return False
    return isinstance(value, (dict, Mapping))  # dict first: a cheap exact check before the ABC machinery


def is_sequence(value: Any) -> TypeGuard[Sequence[Any]]:
    """``isinstance(value, Sequence)``, with lists (nearly every case) decided without the ABC check."""
    return type(value) is list or isinstance(value, Sequence)


def is_int64(value: int) -> bool:
    """Tell whether ``value`` fits an OTLP int (64-bit): the exporter drops a span with a larger one."""
    # Compared, not ``value in range(...)``: a range tests an int subclass (an IntEnum) by iterating over it.
    return -INT64_END <= value < INT64_END


def is_structural_tag(tag: str) -> bool:
    """Tell whether LangChain or LangGraph added ``tag`` to describe the run's position, not the user."""
    return tag.startswith(_STRUCTURAL_TAG_PREFIXES)


def retry_attempt(tags: Iterable[Any]) -> int | None:
    """Return ``N`` of LangChain's ``retry:attempt:N`` tag (``with_retry``'s attempts 2, 3, ...), if any."""
    for tag in tags:
        if isinstance(tag, str) and tag.startswith(_RETRY_TAG):
            number = tag[len(_RETRY_TAG) :]
            # ASCII digits only: str.isdigit() accepts "²", which int() refuses.
            if not number.isascii() or not number.isdigit() or len(number) > 18:
                return None
            return int(number)
    return None


def tag_key(tag: str) -> str:
    """Return the ``langchain.tag.<tag>`` attribute key, with unsafe characters replaced by ``_``."""
    return sc.TAG_PREFIX + _TAG_KEY_UNSAFE.sub("_", tag)


def user_tags(tags: Iterable[Any] | None, redactor: Redactor | None = None, limit: int = MAX_TAGS) -> list[str]:
    """Keep the user's tags in order, once each, at most ``limit``: no structural or empty tags, redacted, cut."""
    if not tags:
        return []
    redacts = redactor if redactor is not None else BUILTIN_REDACTOR
    seen: dict[str, None] = {}
    for tag in tags:
        text = (tag if isinstance(tag, str) else coerce_text(tag)).strip()
        if text and not is_structural_tag(text):
            seen[redacts.name(text)] = None
            if len(seen) >= limit:
                break
    return list(seen)


def tag_attributes(
    tags: Iterable[Any] | None,
    into: Attributes,
    redactor: Redactor | None = None,
    max_attributes: int = MAX_TAG_ATTRIBUTES,
) -> None:
    """Add ``langchain.tag.<tag>=true`` for the first ``max_attributes`` user tags, and ``langchain.tags``."""
    kept = user_tags(tags, redactor)
    if not kept:
        return
    for tag in kept[:max_attributes]:
        into[tag_key(tag)] = True
    into[sc.TAGS] = kept


compact_json: Final = json.JSONEncoder(separators=(",", ":"), default=coerce_text, ensure_ascii=False).encode
"""Encode a value as compact JSON, unknown objects as their ``str`` (raises on a cycle or too deep a value).

One encoder for every call: ``json.dumps`` with options builds a new one each time.
"""


def to_json(value: Any) -> str:
    """Encode ``value`` as compact JSON; unknown objects become their ``str``; cycles become text."""
    try:
        return compact_json(value)
    except (ValueError, TypeError, RecursionError):
        return coerce_text(value)


def scalar_value(value: Any, max_length: int, redactor: Redactor | None = None) -> AttributeValue | None:
    """Coerce a metadata value: scalars kept (strings cut), ``None`` dropped, the rest as compact JSON.

    Work is bounded by ``max_length``, whatever the value: a nested value is walked only as far as fits.
    """
    if value is None:
        return None
    if isinstance(value, str):
        return value[:max_length]
    if isinstance(value, bool | int):
        # OTLP ints are 64-bit: a larger Python int would be dropped by the exporter.
        if isinstance(value, bool) or is_int64(value):
            return value
        return coerce_text(value)[:max_length]
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return f"<{len(value)} bytes>"
    redacts = redactor if redactor is not None else BUILTIN_REDACTOR
    return to_json(redacts.value(value, budget=max_length + 1))[:max_length]


def _redacted_metadata_value(key: str, value: Any, redactor: Redactor) -> AttributeValue | None:
    """Coerce one metadata value like :func:`scalar_value`, with secrets replaced (metadata is always sent)."""
    if value is None:
        return None
    if is_secret_key(key):
        return REDACTED
    if isinstance(value, str):
        return redactor.name(value)
    return scalar_value(value, MAX_NAME_LENGTH, redactor)


def metadata_attributes(
    metadata: Mapping[str, Any] | None,
    into: Attributes,
    redactor: Redactor | None = None,
    max_attributes: int = MAX_METADATA_ATTRIBUTES,
) -> None:
    """Add ``langchain.metadata.<key>`` entries, LangGraph markers and the conversation id to ``into``.

    Metadata is recorded whatever the content setting, so secrets are replaced here: values under a
    credential-like key, and text matching a credential pattern (the built-in ones, or ``redactor``'s, which
    adds the configured ``LC_OTEL_REDACT_PATTERNS``) in keys and values. At most ``max_attributes`` user
    entries are added; the LangGraph markers and the conversation id come after them.
    """
    if not metadata or (type(metadata) is not dict and not is_mapping(metadata)):
        return
    redacts = redactor if redactor is not None else BUILTIN_REDACTOR
    derived: Attributes = {}
    added = 0
    for key, value in metadata.items():
        if key in _LANGCHAIN_METADATA_KEYS:  # a model call's metadata is mostly these: one set lookup each
            continue
        if not isinstance(key, str) or not key or key.startswith("ls_"):
            continue
        renamed = _LANGGRAPH_RENAMES.get(key)
        if renamed is None and added >= max_attributes:
            continue
        coerced = _redacted_metadata_value(key, value, redacts)
        if coerced is None:
            continue
        if renamed is not None:
            derived[renamed] = coerced
        else:
            into[sc.METADATA_PREFIX + redacts.name(key)] = coerced
            added += 1
    if not metadata.keys().isdisjoint(_CONVERSATION_KEYS):
        for key in _CONVERSATION_KEYS:
            conversation = metadata.get(key)
            if conversation is not None and conversation != "":
                derived[sc.GEN_AI_CONVERSATION_ID] = redacts.name(coerce_text(conversation))
                break
    if derived:
        into.update(derived)


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


__all__ = [
    "INT64_END",
    "MAX_METADATA_ATTRIBUTES",
    "MAX_TAGS",
    "MAX_TAG_ATTRIBUTES",
    "Attributes",
    "coerce_text",
    "compact_json",
    "is_int64",
    "is_mapping",
    "is_structural_tag",
    "metadata_attributes",
    "retry_attempt",
    "run_name",
    "scalar_value",
    "tag_attributes",
    "tag_key",
    "to_json",
    "user_tags",
]

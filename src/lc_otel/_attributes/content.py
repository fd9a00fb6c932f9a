"""Captured content: JSON rendering, cutting and redaction (messages in the conventions' shape: ``messages``).

Only used when content capture is on. Secrets are redacted whatever the settings: values LangChain or
pydantic mark secret, mapping entries whose key names a credential, and text matching a credential pattern.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any, Final

from lc_otel._attributes.tags_metadata import coerce_text

REDACTED: Final = "[REDACTED]"

_SECRET_KEY: Final = re.compile(
    r"(?i)^(?:.*[_-])?(?:api[_-]?key|apikey|authorization|proxy[_-]authorization|password|passwd|secret|"
    r"client[_-]secret|access[_-]?token|refresh[_-]?token|id[_-]?token|session[_-]?token|cookie|set-cookie|"
    r"x-api-key|private[_-]?key)$"
)
_SECRET_TEXT: Final = (
    re.compile(r"\bsk-[A-Za-z0-9_\-]{12,}"),  # OpenAI / Anthropic style keys
    re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/\-]{8,}=*"),
    re.compile(r"(?i)\bbasic\s+[A-Za-z0-9+/]{8,}=*"),  # HTTP Basic credentials (base64 user:password)
    re.compile(r"\bAKIA[0-9A-Z]{16}\b"),  # AWS access key ids
    re.compile(r"\bAIza[0-9A-Za-z_\-]{30,}"),  # Google API keys
    re.compile(r"\bgh[pousr]_[A-Za-z0-9]{30,}"),  # GitHub tokens
)
_MAX_DEPTH: Final = 32
_MATCH_MARGIN: Final = 512
"""Characters kept past the length limit before redaction, so a secret cut in half is still matched."""


def is_secret_key(key: str) -> bool:
    """Tell whether a mapping key names a credential (``api_key``, ``Authorization``, ``x-api-key``, ...)."""
    return _SECRET_KEY.match(key) is not None


class Redactor:
    """Replaces secrets in text and in nested values."""

    def __init__(self, extra_patterns: Sequence[re.Pattern[str]] = (), *, max_length: int | None = None) -> None:
        self._patterns = (*_SECRET_TEXT, *extra_patterns)
        # Work on enormous values is bounded: text past what can be kept (plus a margin, so a secret that
        # straddles the cut is still recognised and redacted whole) is dropped before the patterns run, and
        # collections keep at most this many items (each item renders as at least one character).
        self._limit = None if max_length is None else max(1, max_length)

    def text(self, value: str) -> str:
        """Replace every credential-looking match in ``value``."""
        if self._limit is not None and len(value) > self._limit + _MATCH_MARGIN:
            value = value[: self._limit + _MATCH_MARGIN]
        for pattern in self._patterns:
            value = pattern.sub(REDACTED, value)
        return value

    def _items(self, items: Any) -> list[Any]:
        taken: list[Any] = []
        for item in items:
            if self._limit is not None and len(taken) >= self._limit:
                break
            taken.append(item)
        return taken

    def value(self, value: Any, depth: int = 0) -> Any:
        """Return a JSON-friendly copy of ``value`` with secrets replaced; cycles and depth are cut."""
        if depth > _MAX_DEPTH:
            return "[...]"
        if value is None or isinstance(value, bool | int | float):
            return value
        if isinstance(value, str):
            return self.text(value)
        type_name = type(value).__name__
        if type_name in {"SecretStr", "SecretBytes"}:
            return REDACTED
        if isinstance(value, bytes | bytearray | memoryview):
            return f"<{len(value)} bytes>"
        if isinstance(value, Mapping):
            if value.get("type") == "secret" and value.get("lc") == 1:  # LangChain's serialized secret
                return REDACTED
            return {
                coerce_text(k): REDACTED if isinstance(k, str) and _SECRET_KEY.match(k) else self.value(v, depth + 1)
                for k, v in self._items(value.items())
            }
        if isinstance(value, list | tuple | set | frozenset):
            return [self.value(item, depth + 1) for item in self._items(value)]
        dumped = _model_dump(value)
        if dumped is not None:
            return self.value(dumped, depth + 1)
        return self.text(coerce_text(value))


def _model_dump(value: Any) -> Any:
    """Read a pydantic model or LangChain object as plain data, or ``None``."""
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        try:
            return dump()
        except Exception:  # noqa: BLE001 - foreign objects may fail to dump; fall back to str
            return None
    return None


def cut(text: str, max_length: int) -> str:
    """Cut ``text`` to ``max_length`` characters, marking the cut."""
    if len(text) <= max_length:
        return text
    return text[: max(0, max_length - 1)] + "…"


def dump(value: Any, redactor: Redactor, max_length: int) -> str:
    """Render ``value`` as redacted, compact JSON (strings as themselves), cut to ``max_length``."""
    clean = redactor.value(value)
    if isinstance(clean, str):
        return cut(clean, max_length)
    try:
        text = json.dumps(clean, separators=(",", ":"), ensure_ascii=False, default=coerce_text)
    except (TypeError, ValueError, RecursionError):
        text = coerce_text(clean)
    return cut(text, max_length)

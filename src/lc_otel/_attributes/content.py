"""Captured content: JSON rendering, the conventions' message shape, cutting and redaction.

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


# --- the GenAI message shape ----------------------------------------------------------------------------

_ROLES: Final = {
    "human": "user",
    "ai": "assistant",
    "system": "system",
    "tool": "tool",
    "function": "tool",
    "developer": "system",
    # Streamed messages keep their chunk class as their type.
    "HumanMessageChunk": "user",
    "AIMessageChunk": "assistant",
    "SystemMessageChunk": "system",
    "ToolMessageChunk": "tool",
    "FunctionMessageChunk": "tool",
}
_FINISH_KEYS: Final = ("finish_reason", "stop_reason", "stopReason", "done_reason")


def _parts(message: Any, redactor: Redactor) -> list[dict[str, Any]]:
    parts: list[dict[str, Any]] = []
    content = getattr(message, "content", message)
    if isinstance(content, str):
        if content:
            parts.append({"type": "text", "content": redactor.text(content)})
    elif isinstance(content, Sequence):
        for block in content:
            if isinstance(block, str):
                parts.append({"type": "text", "content": redactor.text(block)})
            elif isinstance(block, Mapping):
                kind = block.get("type")
                if kind == "text" and isinstance(block.get("text"), str):
                    parts.append({"type": "text", "content": redactor.text(block["text"])})
                elif kind in {"reasoning", "thinking"}:
                    text = block.get("reasoning") or block.get("thinking") or ""
                    parts.append({"type": "reasoning", "content": redactor.text(coerce_text(text))})
                else:
                    parts.append(
                        {
                            "type": "generic",
                            "generic_type": coerce_text(kind),
                            "content": redactor.value(block),
                        }
                    )
    for call in getattr(message, "tool_calls", None) or ():
        if isinstance(call, Mapping):
            parts.append(
                {
                    "type": "tool_call",
                    "id": call.get("id"),
                    "name": call.get("name"),
                    "arguments": redactor.value(call.get("args")),
                }
            )
    if getattr(message, "type", None) in {"tool", "ToolMessageChunk"}:
        parts = [
            {
                "type": "tool_call_response",
                "id": getattr(message, "tool_call_id", None),
                "response": redactor.value(getattr(message, "content", None)),
            }
        ]
    return parts


def message_json(message: Any, redactor: Redactor) -> dict[str, Any]:
    """Convert one LangChain message to the conventions' ``{"role", "parts"}`` shape."""
    role = _ROLES.get(coerce_text(getattr(message, "type", "user")), coerce_text(getattr(message, "role", "user")))
    entry: dict[str, Any] = {"role": role, "parts": _parts(message, redactor)}
    name = getattr(message, "name", None)
    if isinstance(name, str) and name:
        entry["name"] = name
    return entry


def input_messages(messages: Any, redactor: Redactor) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Split the prompt of a chat model call into system instructions and input messages."""
    system: list[dict[str, Any]] = []
    inputs: list[dict[str, Any]] = []
    if not isinstance(messages, Sequence):
        return system, inputs
    for per_prompt in messages:
        for message in per_prompt if isinstance(per_prompt, Sequence) else (per_prompt,):
            converted = message_json(message, redactor)
            if converted["role"] == "system":
                system.extend(p for p in converted["parts"] if p.get("type") == "text")
            else:
                inputs.append(converted)
    return system, inputs


def prompt_messages(prompts: Any, redactor: Redactor) -> list[dict[str, Any]]:
    """Convert a text LLM's prompts to user messages."""
    if not isinstance(prompts, Sequence) or isinstance(prompts, str):
        prompts = [prompts]
    return [{"role": "user", "parts": [{"type": "text", "content": redactor.text(coerce_text(p))}]} for p in prompts]


def output_messages(response: Any, redactor: Redactor) -> list[dict[str, Any]]:
    """Convert the generations of a model response to assistant output messages."""
    out: list[dict[str, Any]] = []
    for per_prompt in getattr(response, "generations", None) or ():
        for generation in per_prompt or ():
            message = getattr(generation, "message", None)
            if message is not None:
                entry = message_json(message, redactor)
            else:
                entry = {
                    "role": "assistant",
                    "parts": [
                        {
                            "type": "text",
                            "content": redactor.text(coerce_text(getattr(generation, "text", ""))),
                        }
                    ],
                }
            entry["finish_reason"] = _finish_reason(generation, message)
            out.append(entry)
    return out


def _finish_reason(generation: Any, message: Any) -> str:
    for source in (getattr(message, "response_metadata", None), getattr(generation, "generation_info", None)):
        if isinstance(source, Mapping):
            for key in _FINISH_KEYS:
                reason = source.get(key)
                if isinstance(reason, str) and reason:
                    return reason
    return "stop"


def messages_json(messages: list[dict[str, Any]], max_length: int) -> str:
    """Encode converted messages as one JSON string, cut to ``max_length``."""
    try:
        text = json.dumps(messages, separators=(",", ":"), ensure_ascii=False, default=coerce_text)
    except (TypeError, ValueError, RecursionError):
        text = coerce_text(messages)
    return cut(text, max_length)

"""LangChain messages in the GenAI conventions' message shape (``gen_ai.input.messages`` and friends).

Only used when content capture is on. Each message becomes ``{"role", "parts", "name"?}``; output messages add
``finish_reason`` only when the provider reported one (a reason is never made up). Parts follow the
conventions' schema, which Jaeger's GenAI tab and Phoenix read: ``text``, ``reasoning``, ``tool_call``,
``tool_call_response``, ``blob`` / ``file`` / ``uri`` for media, and ``generic`` for anything else.
Every text is redacted; the JSON is cut to the content limit without breaking its structure.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, Final

from lc_otel._attributes.media import media_part
from lc_otel._attributes.redaction import Redactor, coerce_text, cut
from lc_otel._attributes.tags_metadata import compact_json

Part = dict[str, Any]
Message = dict[str, Any]

_ROLES: Final = {
    "human": "user",
    "ai": "assistant",
    "system": "system",
    "tool": "tool",
    "function": "tool",
    "developer": "system",
    "user": "user",
    "assistant": "assistant",
    # Streamed messages keep their chunk class as their type.
    "HumanMessageChunk": "user",
    "AIMessageChunk": "assistant",
    "SystemMessageChunk": "system",
    "ToolMessageChunk": "tool",
    "FunctionMessageChunk": "tool",
}
_TOOL_RESULT_TYPES: Final = frozenset({"tool", "ToolMessageChunk", "function", "FunctionMessageChunk"})
_TEXT_BLOCKS: Final = frozenset({"text", "input_text", "output_text", "text-plain"})
_REASONING_BLOCKS: Final = frozenset({"reasoning", "thinking"})
# Blocks that repeat what ``message.tool_calls`` already says (Anthropic's tool_use, the v1 standard tool_call).
_TOOL_CALL_BLOCKS: Final = frozenset({"tool_use", "tool_call", "function_call", "tool_call_chunk"})
FINISH_REASON_KEYS: Final = ("finish_reason", "stop_reason", "stopReason", "done_reason")
"""Where providers put a generation's finish reason in ``response_metadata`` / ``generation_info``, in order."""


def _text_part(text: Any, redactor: Redactor) -> Part:
    return {"type": "text", "content": redactor.text(coerce_text(text))}


def text_message(role: str, text: Any, redactor: Redactor) -> Message:
    """A message of one text part: a text LLM's prompt, a legacy agent's input or output."""
    return {"role": role, "parts": [_text_part(text, redactor)]}


def _reasoning_text(block: Mapping[str, Any]) -> str:
    """The text of a reasoning block: LangChain's ``reasoning``, Anthropic's ``thinking``, or OpenAI's summary."""
    text = block.get("reasoning") or block.get("thinking")
    if isinstance(text, str):
        return text
    summary = block.get("summary")
    if isinstance(summary, Sequence) and not isinstance(summary, str):
        return "\n".join(str(item.get("text", "")) for item in summary if isinstance(item, Mapping))
    return ""


def _json_or_text(value: Any) -> Any:
    """Arguments as the provider sent them: a JSON string becomes its value, anything else stays as is."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _block_parts(block: Mapping[str, Any], has_tool_calls: bool, redactor: Redactor) -> list[Part]:
    kind = block.get("type")
    if kind in _TEXT_BLOCKS:
        text = block.get("text")
        return [_text_part(text, redactor)] if isinstance(text, str) else []
    if kind in _REASONING_BLOCKS:
        return [{"type": "reasoning", "content": redactor.text(_reasoning_text(block))}]
    if kind == "refusal" and isinstance(block.get("refusal"), str):
        return [_text_part(block["refusal"], redactor)]
    if kind in _TOOL_CALL_BLOCKS and has_tool_calls:
        return []
    if kind == "tool_result":  # Anthropic's tool result, inside a user message
        return [
            {
                "type": "tool_call_response",
                "id": block.get("tool_use_id"),
                "response": redactor.value(block.get("content")),
            }
        ]
    media = media_part(block, redactor)
    if media is not None:
        return [media]
    return [{"type": "generic", "generic_type": coerce_text(kind), "content": redactor.value(block)}]


def _legacy_function_call(message: Any, redactor: Redactor) -> Part | None:
    """OpenAI's legacy ``function_call`` reply (``additional_kwargs``) as a ``tool_call`` part."""
    extra = getattr(message, "additional_kwargs", None)
    call = extra.get("function_call") if isinstance(extra, Mapping) else None
    if not isinstance(call, Mapping) or not call.get("name"):
        return None
    return {
        "type": "tool_call",
        "id": None,
        "name": coerce_text(call.get("name")),
        "arguments": redactor.value(_json_or_text(call.get("arguments"))),
    }


def message_parts(message: Any, redactor: Redactor) -> list[Part]:
    """The conventions' parts of one LangChain message (or of a bare string)."""
    if getattr(message, "type", None) in _TOOL_RESULT_TYPES:
        return [
            {
                "type": "tool_call_response",
                "id": getattr(message, "tool_call_id", None),
                "response": redactor.value(getattr(message, "content", None)),
            }
        ]
    tool_calls = getattr(message, "tool_calls", None) or ()
    parts: list[Part] = []
    content = getattr(message, "content", message)
    if isinstance(content, str):
        if content:
            parts.append(_text_part(content, redactor))
    elif isinstance(content, Sequence):
        for block in content:
            if isinstance(block, str):
                parts.append(_text_part(block, redactor))
            elif isinstance(block, Mapping):
                parts.extend(_block_parts(block, bool(tool_calls), redactor))
    for call in tool_calls:
        if isinstance(call, Mapping):
            parts.append(
                {
                    "type": "tool_call",
                    "id": call.get("id"),
                    "name": call.get("name"),
                    "arguments": redactor.value(call.get("args")),
                }
            )
    if not tool_calls:
        legacy = _legacy_function_call(message, redactor)
        if legacy is not None:
            parts.append(legacy)
    return parts


def _role(message: Any) -> str:
    kind = coerce_text(getattr(message, "type", "user"))
    role = _ROLES.get(kind)
    if role is not None:
        return role
    # ChatMessage carries a free-form role ("user", "assistant", ...).
    raw = coerce_text(getattr(message, "role", "user"))
    return _ROLES.get(raw, raw)


def message_json(message: Any, redactor: Redactor) -> Message:
    """Convert one LangChain message to the conventions' ``{"role", "parts"}`` shape."""
    entry: Message = {"role": _role(message), "parts": message_parts(message, redactor)}
    name = getattr(message, "name", None)
    if isinstance(name, str) and name:
        entry["name"] = name
    return entry


def input_messages(messages: Any, redactor: Redactor) -> tuple[list[Part], list[Message]]:
    """Split the prompt of a chat model call into system instructions and input messages."""
    system: list[Part] = []
    inputs: list[Message] = []
    if not isinstance(messages, Sequence):
        return system, inputs
    for per_prompt in messages:
        for message in per_prompt if isinstance(per_prompt, Sequence) else (per_prompt,):
            converted = message_json(message, redactor)
            if converted["role"] == "system":
                system.extend(converted["parts"])
            else:
                inputs.append(converted)
    return system, inputs


def prompt_messages(prompts: Any, redactor: Redactor) -> list[Message]:
    """Convert a text LLM's prompts to user messages."""
    if not isinstance(prompts, Sequence) or isinstance(prompts, str):
        prompts = [prompts]
    return [text_message("user", prompt, redactor) for prompt in prompts]


def finish_reason(generation: Any, message: Any) -> str | None:
    """The finish reason the provider reported for one generation, or ``None``: never a guess."""
    for source in (getattr(message, "response_metadata", None), getattr(generation, "generation_info", None)):
        if isinstance(source, Mapping):
            for key in FINISH_REASON_KEYS:
                reason = source.get(key)
                if isinstance(reason, str) and reason:
                    return reason
    return None


def output_messages(response: Any, redactor: Redactor) -> list[Message]:
    """Convert the generations of a model response to assistant output messages.

    A generation that says nothing (no part, no finish reason: what LangChain hands the error path of a
    failed call) gives no message; a finish reason is set only where the provider reported one.
    """
    out: list[Message] = []
    for per_prompt in getattr(response, "generations", None) or ():
        for generation in per_prompt or ():
            message = getattr(generation, "message", None)
            if message is not None:
                entry = message_json(message, redactor)
            else:
                text = coerce_text(getattr(generation, "text", ""))
                entry = {"role": "assistant", "parts": [_text_part(text, redactor)] if text else []}
            reason = finish_reason(generation, message)
            if reason is not None:
                entry["finish_reason"] = reason
            elif not entry["parts"]:
                continue
            out.append(entry)
    return out


# --- encoding -------------------------------------------------------------------------------------------


_STRUCTURAL: Final = frozenset(
    {"role", "type", "id", "name", "finish_reason", "modality", "mime_type", "generic_type", "file_id"}
)


def _longest_text(value: Any) -> int:
    if isinstance(value, str):
        return len(value)
    if isinstance(value, Mapping):
        return max((_longest_text(item) for item in value.values()), default=0)
    if isinstance(value, list):
        return max((_longest_text(item) for item in value), default=0)
    return 0


def _shortened(value: Any, budget: int) -> Any:
    """``value`` with every string longer than ``budget`` cut to it (marked ``…``).

    Keys stay whole, and so do the values that give a message its structure (role, part type, ids, names).
    """
    if isinstance(value, str):
        return cut(value, budget + 1) if len(value) > budget else value
    if isinstance(value, Mapping):
        return {key: item if key in _STRUCTURAL else _shortened(item, budget) for key, item in value.items()}
    if isinstance(value, list):
        return [_shortened(item, budget) for item in value]
    return value


def captured_json(value: Any, redactor: Redactor, max_length: int) -> str:
    """Render a captured value for a GenAI attribute: text as itself, anything else as JSON; redacted and cut.

    Unlike :func:`lc_otel._attributes.content.dump`, a cut keeps the JSON parseable (see :func:`messages_json`).
    """
    clean = redactor.value(value)
    if isinstance(clean, str):
        return cut(clean, max_length)
    return messages_json(clean, max_length)


def _largest(fits: Any, high: int) -> int:
    """The largest ``n`` in ``0..high`` with ``fits(n)`` (``fits`` is monotonic), or -1 when none fits."""
    low, best = 0, -1
    while low <= high:
        middle = (low + high) // 2
        if fits(middle):
            best, low = middle, middle + 1
        else:
            high = middle - 1
    return best


def messages_json(messages: Any, max_length: int) -> str:
    """Encode converted messages (or any JSON value) as one JSON string of at most ``max_length`` characters.

    Too long a value keeps its JSON structure, as the conventions ask (consumers parse it): the longest
    strings are cut, as little as needed, and when even that is not enough the last messages are left out.
    Only a value that cannot fit at all is cut as text.
    """
    try:
        text = compact_json(messages)
        if len(text) <= max_length:
            return text
        # By bisection, a few encodings of a value being captured: first how many messages fit with every
        # string cut to nothing, then how long the strings of those may stay.
        kept = messages
        if isinstance(messages, list):
            count = _largest(lambda n: len(compact_json(_shortened(messages[:n], 0))) <= max_length, len(messages))
            kept = messages[: max(count, 0)]
        budget = _largest(lambda b: len(compact_json(_shortened(kept, b))) <= max_length, _longest_text(kept))
        if budget >= 0:
            return compact_json(_shortened(kept, budget))
    except (TypeError, ValueError, RecursionError):
        text = coerce_text(messages)
    return cut(text, max_length)

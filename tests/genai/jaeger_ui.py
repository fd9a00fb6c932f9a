"""What the Jaeger UI (2.20+) reads from a span's GenAI attributes, written down as a test oracle.

A model of the documented behaviour of jaeger-ui's ``utils/genai/detect.ts`` (``classifySpan``: which GenAI
kind a span is) and ``SpanDetail/GenAITab/genAiData.ts`` (``extractGenAiData``: what the GenAI tab shows),
so tests can hold lc-otel's spans against it. Written from their description, not translated from the code.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Mapping
from typing import Any, Final

OPERATION_KINDS: Final = {
    "chat": "LLM_CALL",
    "text_completion": "LLM_CALL",
    "generate_content": "LLM_CALL",
    "embeddings": "LLM_CALL",
    "execute_tool": "TOOL_CALL",
    "invoke_agent": "AGENT",
    "create_agent": "AGENT",
    "invoke_workflow": "AGENT",
    "retrieval": "RETRIEVAL",
}
ROLES: Final = frozenset({"system", "user", "assistant", "tool"})
HANDLED: Final = frozenset(
    {
        "gen_ai.provider.name",
        "gen_ai.system",
        "gen_ai.response.model",
        "gen_ai.request.model",
        "gen_ai.input.messages",
        "gen_ai.prompt",
        "gen_ai.output.messages",
        "gen_ai.completion",
        "gen_ai.usage.input_tokens",
        "gen_ai.usage.output_tokens",
        "gen_ai.usage.cache_read.input_tokens",
        "gen_ai.usage.cache_creation.input_tokens",
        "gen_ai.usage.reasoning.output_tokens",
        "gen_ai.tool.name",
        "gen_ai.tool.call.arguments",
        "gen_ai.tool.call.result",
        "gen_ai.tool.call.id",
        "gen_ai.system_instructions",
    }
)
_JSON_LOOKING: Final = re.compile(r"^[\[{]")


def classify(attributes: Mapping[str, Any]) -> str:
    """The span's GenAI kind: LLM_CALL, TOOL_CALL, AGENT, RETRIEVAL, UNKNOWN_GENAI or STANDARD."""
    operation = attributes.get("gen_ai.operation.name")
    if isinstance(operation, str):
        return OPERATION_KINDS.get(operation, "UNKNOWN_GENAI")
    return "UNKNOWN_GENAI" if any(key.startswith("gen_ai.") for key in attributes) else "STANDARD"


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return value
    if isinstance(value, str) and value.strip():
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _tool_value(value: Any) -> str:
    if isinstance(value, str):
        if _JSON_LOOKING.match(value):
            try:
                return json.dumps(json.loads(value), separators=(",", ":"))
            except ValueError:
                return value
        return value
    return json.dumps(value if value is not None else {}, separators=(",", ":"))


def _pretty(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, indent=2)


def render_part(part: Any) -> str:
    """One message part as the tab shows it."""
    if not isinstance(part, Mapping):
        return str(part)
    kind = part.get("type")
    if kind in {"text", "reasoning", "compaction"}:
        content = part.get("content")
        return content if isinstance(content, str) else _pretty(content if content is not None else dict(part))
    if kind in {"tool_call", "server_tool_call"}:
        name = part.get("name") if isinstance(part.get("name"), str) else "unknown_tool"
        arguments = part.get("arguments") if kind == "tool_call" else part.get("server_tool_call")
        return f"→ {name}({_tool_value(arguments)})"
    if kind == "tool_call_response":
        return f"← {_tool_value(part.get('response'))}"
    if kind == "server_tool_call_response":
        return f"← {_tool_value(part.get('server_tool_call_response'))}"
    if kind in {"blob", "file", "uri"}:
        modality = part.get("modality") if isinstance(part.get("modality"), str) else "file"
        return f"[{modality} attached]"
    return _pretty(dict(part))


def parse_messages(value: Any) -> list[tuple[str | None, str]]:
    """Messages as ``(role, shown text)``; a value that is no JSON is one message without a role."""
    if value is None:
        return []
    parsed = value
    if isinstance(value, str):
        try:
            parsed = json.loads(value)
        except ValueError:
            return [(None, value)]
    if not isinstance(parsed, list):
        return []
    shown: list[tuple[str | None, str]] = []
    for entry in parsed:
        if not isinstance(entry, Mapping):
            shown.append((None, str(entry)))
            continue
        role = entry.get("role") if entry.get("role") in ROLES else None
        if isinstance(entry.get("parts"), list):
            shown.append((role, "\n\n".join(render_part(part) for part in entry["parts"])))
        else:
            content = entry.get("content")
            shown.append((role, content if isinstance(content, str) else _pretty(content or dict(entry))))
    return shown


def parse_system_instructions(value: Any) -> str | None:
    """The system instructions' text (a JSON list of parts, or plain text)."""
    if value is None:
        return None
    parsed = value
    if isinstance(value, str):
        try:
            parsed = json.loads(value)
        except ValueError:
            return value
    if not isinstance(parsed, list):
        return None
    texts = [
        item.get("content") if isinstance(item, Mapping) else item
        for item in parsed
        if (item.get("content") if isinstance(item, Mapping) else item) is not None
    ]
    text = "\n\n".join(t if isinstance(t, str) else json.dumps(t) for t in texts)
    return text or None


@dataclasses.dataclass
class GenAiTab:
    """What the GenAI tab shows for one span."""

    provider: str | None
    model: str | None
    usage: dict[str, float | None]
    input_messages: list[tuple[str | None, str]]
    output_messages: list[tuple[str | None, str]]
    system_instructions: str | None
    tool_call: dict[str, Any] | None
    other: dict[str, Any]


def genai_tab(attributes: Mapping[str, Any]) -> GenAiTab:
    """Extract the GenAI tab's fields from a span's attributes."""

    def text(key: str, fallback: str) -> str | None:
        value = attributes.get(key, attributes.get(fallback))
        return None if value is None else str(value)

    tool_name = attributes.get("gen_ai.tool.name")
    arguments = attributes.get("gen_ai.tool.call.arguments")
    result = attributes.get("gen_ai.tool.call.result")
    has_call = tool_name is not None or arguments is not None or result is not None
    return GenAiTab(
        provider=text("gen_ai.provider.name", "gen_ai.system"),
        model=text("gen_ai.response.model", "gen_ai.request.model"),
        usage={
            "input": _number(attributes.get("gen_ai.usage.input_tokens")),
            "output": _number(attributes.get("gen_ai.usage.output_tokens")),
            "cache_read": _number(attributes.get("gen_ai.usage.cache_read.input_tokens")),
            "cache_creation": _number(attributes.get("gen_ai.usage.cache_creation.input_tokens")),
            "reasoning": _number(attributes.get("gen_ai.usage.reasoning.output_tokens")),
        },
        input_messages=parse_messages(attributes.get("gen_ai.input.messages", attributes.get("gen_ai.prompt"))),
        output_messages=parse_messages(attributes.get("gen_ai.output.messages", attributes.get("gen_ai.completion"))),
        system_instructions=parse_system_instructions(attributes.get("gen_ai.system_instructions")),
        tool_call=(
            {
                "id": None if attributes.get("gen_ai.tool.call.id") is None else str(attributes["gen_ai.tool.call.id"]),
                "name": None if tool_name is None else str(tool_name),
                "arguments": arguments,
                "result": result,
            }
            if has_call
            else None
        ),
        other={k: v for k, v in attributes.items() if k.startswith("gen_ai.") and k not in HANDLED},
    )

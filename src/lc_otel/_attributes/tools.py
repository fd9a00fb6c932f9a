"""Tools in the GenAI conventions: the definitions a model is offered, and the arguments and result of a call.

All of it is content (opt-in): only used when content capture is on.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from lc_otel._attributes.messages import captured_json, messages_json
from lc_otel._attributes.redaction import Redactor


def _definition(tool: Mapping[str, Any], redactor: Redactor) -> dict[str, Any] | None:
    """One tool as ``{"type", "name", "description"?, "parameters"?}``, from any provider's format."""
    kind = tool.get("type")
    # OpenAI Chat Completions: {"type": "function", "function": {...}}; Bedrock Converse: {"toolSpec": {...}}.
    spec = tool.get("function") if isinstance(tool.get("function"), Mapping) else tool.get("toolSpec")
    if not isinstance(spec, Mapping):
        spec = tool  # OpenAI Responses, Anthropic, legacy functions: the fields are on the tool itself
    name = spec.get("name")
    if not isinstance(kind, str) or not kind or kind == "custom":
        kind = "function"
    if not isinstance(name, str) or not name:
        if kind == "function":
            return None
        name = kind  # a provider's built-in tool ({"type": "web_search"}) has no name but its type
    entry: dict[str, Any] = {"type": kind, "name": name}
    description = spec.get("description")
    if isinstance(description, str) and description:
        entry["description"] = redactor.text(description)
    # OpenAI: parameters; Anthropic: input_schema; Bedrock: inputSchema.json.
    parameters = spec.get("parameters") or spec.get("input_schema") or spec.get("inputSchema")
    if isinstance(parameters, Mapping) and isinstance(parameters.get("json"), Mapping):
        parameters = parameters["json"]
    if parameters is not None:
        entry["parameters"] = redactor.value(parameters)
    return entry


def tool_definitions(invocation_params: Mapping[str, Any] | None, redactor: Redactor, max_length: int) -> str | None:
    """``gen_ai.tool.definitions`` for the tools bound to a model call (``tools`` or legacy ``functions``)."""
    if not invocation_params:
        return None
    found: list[dict[str, Any]] = []
    for key in ("tools", "functions"):
        tools = invocation_params.get(key)
        if isinstance(tools, Sequence) and not isinstance(tools, str):
            for tool in tools:
                if isinstance(tool, Mapping):
                    definition = _definition(tool, redactor)
                    if definition is not None:
                        found.append(definition)
    return messages_json(found, max_length) if found else None


def tool_call_arguments(inputs: Any, input_str: Any, redactor: Redactor, max_length: int) -> str:
    """``gen_ai.tool.call.arguments``: the arguments the tool was called with, as JSON where they are structured.

    ``inputs`` is the argument mapping LangChain passes when the tool was called with one; ``input_str`` its
    ``str()`` (Python, not JSON), or the plain text a tool was called with.
    """
    return captured_json(inputs if inputs is not None else input_str, redactor, max_length)


def tool_call_result(output: Any, redactor: Redactor, max_length: int) -> str:
    """``gen_ai.tool.call.result``: the content of the tool message a tool returned, else its output."""
    return captured_json(getattr(output, "content", output), redactor, max_length)

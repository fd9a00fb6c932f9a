"""Which chain runs are agents or workflows, and what an agent was asked and answered.

LangChain tells little at a chain's start: a compiled LangGraph graph starts with no serialized form and only
its name, like any other chain. What does tell is its first node, which starts at once: a node run carries
``langgraph_node`` (its own name) and a ``graph:step:N`` tag, and its parent is the graph. A graph whose
first node is ``create_agent``'s model step (or a middleware hook before it) or ``create_react_agent``'s
``agent`` step is an agent (``invoke_agent``); any other compiled graph is a workflow (``invoke_workflow``).
A legacy ``AgentExecutor`` is told by name, or by its planning step, whose inputs hold ``intermediate_steps``.

Pure functions; the callbacks apply them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from lc_otel._attributes.messages import Message, finish_reason, message_json, text_message
from lc_otel._attributes.redaction import Redactor

LEGACY_AGENT_NAMES: Final = frozenset({"AgentExecutor"})
_GRAPH_STEP_TAG: Final = "graph:step:"
_CREATE_AGENT: Final = "langchain_create_agent"
_AGENT_FIRST_NODES: Final = frozenset({"agent", "pre_model_hook"})
"""``create_react_agent``'s first nodes (LangGraph's prebuilt agent)."""
_CREATE_AGENT_FIRST_NODES: Final = frozenset({"model"})
_MIDDLEWARE_HOOKS: Final = (".before_agent", ".before_model")
"""``create_agent``'s middleware nodes that run before its model step."""


def graph_node(name: str, metadata: Mapping[str, Any], tags: Sequence[str] | None) -> bool:
    """Whether a chain run is a LangGraph node (its parent run then is the compiled graph)."""
    if metadata.get("langgraph_node") != name or not tags:
        return False
    return any(isinstance(tag, str) and tag.startswith(_GRAPH_STEP_TAG) for tag in tags)


def graph_is_agent(first_node: str, metadata: Mapping[str, Any]) -> bool:
    """Whether the graph whose first node is ``first_node`` (with that node's metadata) is an agent."""
    if first_node in _AGENT_FIRST_NODES:
        return True
    return metadata.get("ls_integration") == _CREATE_AGENT and (
        first_node in _CREATE_AGENT_FIRST_NODES or first_node.endswith(_MIDDLEWARE_HOOKS)
    )


def agent_name(metadata: Mapping[str, Any], run_name: str, inherited: str | None) -> str:
    """The name of an agent run: its ``lc_agent_name``, unless that was only inherited from an outer agent.

    A ``create_agent(name="inner")`` invoked with an outer agent's config gets the outer ``lc_agent_name``
    (the caller's metadata wins over the graph's own), so then its run name is its name.
    """
    declared = metadata.get("lc_agent_name")
    if isinstance(declared, str) and declared and declared != inherited:
        return declared
    return run_name


def plans_for_legacy_agent(inputs: Any) -> bool:
    """Whether a chain is part of a legacy agent's planning step (the ``AgentExecutor`` is an ancestor).

    The executor hands its agent ``intermediate_steps``: an ``LLMChain`` agent gets them directly, a runnable
    agent's prompt gets them inside the agent's ``RunnableSequence``.
    """
    return isinstance(inputs, dict) and "intermediate_steps" in inputs


def is_composition(name: Any) -> bool:
    """Whether a run name is one of LangChain's runnable compositions (``RunnableSequence``, ``RunnableAssign<..>``)."""
    return isinstance(name, str) and name.startswith("Runnable")


# --- what an agent was asked and answered (content capture only) ------------------------------------


def _as_messages(raw: Any) -> list[Any]:
    """The messages of a graph state: LangChain messages, or the tuples and dicts LangChain accepts as input."""
    if not isinstance(raw, Sequence) or isinstance(raw, str):
        return []
    if all(hasattr(item, "type") for item in raw):
        return list(raw)
    from langchain_core.messages import convert_to_messages

    try:
        return list(convert_to_messages(raw))
    except Exception:  # noqa: BLE001 - odd state is skipped, never raised on
        return []


def agent_input_messages(inputs: Any, redactor: Redactor) -> list[Message]:
    """What an agent is asked, from its inputs: a graph's ``messages``, or a legacy agent's ``input`` text."""
    if not isinstance(inputs, Mapping):
        return []
    messages = _as_messages(inputs.get("messages"))
    if messages:
        return [message_json(m, redactor) for m in messages]
    question = inputs.get("input")
    return [text_message("user", question, redactor)] if isinstance(question, str) and question else []


def agent_messages(outputs: Any, redactor: Redactor) -> tuple[list[Message], list[Message]]:
    """The input and output messages of an agent or workflow run, read from its outputs.

    A graph's output state holds the whole conversation: what led up to the last user message is the input,
    and the final assistant message is the output (with the finish reason its model reported). A legacy
    ``AgentExecutor`` returns its ``output`` text (and its ``input``, when asked to return it).
    """
    if not isinstance(outputs, Mapping):
        return [], []
    messages = _as_messages(outputs.get("messages"))
    if messages:
        last_user = max((i for i, m in enumerate(messages) if getattr(m, "type", None) == "human"), default=-1)
        inputs = [message_json(m, redactor) for m in messages[: last_user + 1]]
        final = messages[-1]
        answer: list[Message] = []
        if last_user < len(messages) - 1 and getattr(final, "type", None) in {"ai", "AIMessageChunk"}:
            entry = message_json(final, redactor)
            reason = finish_reason(None, final)
            if reason is not None:
                entry["finish_reason"] = reason
            answer.append(entry)
        return inputs, answer
    question, reply = outputs.get("input"), outputs.get("output")
    return (
        [text_message("user", question, redactor)] if isinstance(question, str) else [],
        [text_message("assistant", reply, redactor)] if isinstance(reply, str) else [],
    )

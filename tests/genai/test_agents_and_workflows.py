"""Agents and workflows as the conventions and their consumers see them: ``invoke_agent`` / ``invoke_workflow``.

LangChain's fake chat model stands in for a provider here (the spans under test are the agent's, not the
model client's); it reports usage and finish reasons the way a provider does.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from langchain.agents import create_agent
from langchain_core.messages import HumanMessage
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import RunnableConfig
from langchain_core.tools import tool
from langgraph.graph import END, START, StateGraph
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from typing_extensions import TypedDict

from lc_otel import OpenTelemetryCallbackHandler
from lc_otel.testing import FakeChatModel, assert_span_trees, reply
from lc_otel.testing import find_span as by_name
from tests.support.spans import parent_id, span_id


@tool
def add_one(a: int) -> int:
    """Add one to a number."""
    return a + 1


def adder_model() -> FakeChatModel:
    return FakeChatModel(
        responses=[
            reply("", tool_calls=[{"name": "add_one", "args": {"a": 1}, "id": "call-1"}]),
            reply("The answer is 2", finish_reason="stop"),
        ]
    )


def attributes(span: ReadableSpan) -> dict[str, Any]:
    return dict(span.attributes or {})


def agent_names(spans: Any, name: str) -> set[Any]:
    return {attributes(s).get("gen_ai.agent.name") for s in spans if s.name == name}


# --- 5. AgentExecutor with a single model call ---------------------------------------------------------------


@pytest.mark.parametrize("run_name", [None, "math_agent"])
def test_agent_executors_only_model_call_names_its_agent(
    run_name: str | None, handler: OpenTelemetryCallbackHandler, exporter: InMemorySpanExporter
) -> None:
    from langchain_classic.agents import AgentExecutor, create_tool_calling_agent

    prompt = ChatPromptTemplate.from_messages([("human", "{input}"), ("placeholder", "{agent_scratchpad}")])
    model = FakeChatModel(responses=[reply("No tool needed: 2", finish_reason="stop")])
    executor = AgentExecutor(agent=create_tool_calling_agent(model, [add_one], prompt), tools=[add_one])
    config: dict[str, Any] = {"callbacks": [handler]}
    if run_name:
        config["run_name"] = run_name
    assert executor.invoke({"input": "1+1?"}, config)["output"] == "No tool needed: 2"

    name = run_name or "AgentExecutor"
    spans = exporter.get_finished_spans()
    agent = by_name(spans, f"invoke_agent {name}")
    assert attributes(agent)["gen_ai.agent.name"] == name
    chat = by_name(spans, "chat fake-model-1")
    assert attributes(chat)["gen_ai.agent.name"] == name


# --- 6. a named agent inside another agent's tool -----------------------------------------------------------


def test_an_inner_agent_given_the_tools_config_is_its_own_agent(
    handler: OpenTelemetryCallbackHandler, exporter: InMemorySpanExporter
) -> None:
    inner = create_agent(FakeChatModel(responses=[reply("inner says 42")]), tools=[], name="inner")

    @tool
    def ask_inner(question: str, config: RunnableConfig) -> str:
        """Ask the inner agent."""
        return str(inner.invoke({"messages": [HumanMessage(question)]}, config)["messages"][-1].content)

    outer_model = FakeChatModel(
        responses=[
            reply("", tool_calls=[{"name": "ask_inner", "args": {"question": "meaning?"}, "id": "call-i"}]),
            reply("outer is done"),
        ]
    )
    create_agent(outer_model, tools=[ask_inner], name="outer").invoke(
        {"messages": [HumanMessage("go")]}, {"callbacks": [handler]}
    )

    spans = exporter.get_finished_spans()
    assert_span_trees(
        spans,
        (
            "invoke_agent outer",
            [
                ("model", ["chat fake-model-1"]),
                ("tools", [("execute_tool ask_inner", [("invoke_agent inner", [("model", ["chat fake-model-1"])])])]),
                ("model", ["chat fake-model-1"]),
            ],
        ),
    )
    inner_span = by_name(spans, "invoke_agent inner")
    assert attributes(inner_span)["gen_ai.operation.name"] == "invoke_agent"
    assert attributes(inner_span)["gen_ai.agent.name"] == "inner"
    assert parent_id(inner_span) == span_id(by_name(spans, "execute_tool ask_inner"))
    # The chat span under inner's model step says inner; outer's two say outer.
    inner_model = next(s for s in spans if s.name == "model" and parent_id(s) == span_id(inner_span))
    for chat in (s for s in spans if s.name == "chat fake-model-1"):
        expected = "inner" if parent_id(chat) == span_id(inner_model) else "outer"
        assert attributes(chat)["gen_ai.agent.name"] == expected
    assert sorted(attributes(s)["gen_ai.agent.name"] for s in spans if s.name == "chat fake-model-1") == [
        "inner",
        "outer",
        "outer",
    ]
    assert attributes(by_name(spans, "execute_tool ask_inner"))["gen_ai.agent.name"] == "outer"


# --- 11. unnamed agents, LangGraph's prebuilt agent, workflows ---------------------------------------------


def test_an_unnamed_create_agent_is_an_agent(
    handler: OpenTelemetryCallbackHandler, exporter: InMemorySpanExporter
) -> None:
    create_agent(adder_model(), tools=[add_one]).invoke({"messages": [HumanMessage("1+1?")]}, {"callbacks": [handler]})

    spans = exporter.get_finished_spans()
    assert_span_trees(
        spans,
        (
            "invoke_agent LangGraph",
            [("model", ["chat fake-model-1"]), ("tools", ["execute_tool add_one"]), ("model", ["chat fake-model-1"])],
        ),
    )
    root = by_name(spans, "invoke_agent LangGraph")
    assert root.kind is SpanKind.INTERNAL
    assert attributes(root)["gen_ai.operation.name"] == "invoke_agent"
    assert attributes(root)["gen_ai.agent.name"] == "LangGraph"
    assert agent_names(spans, "chat fake-model-1") == {"LangGraph"}
    assert agent_names(spans, "execute_tool add_one") == {"LangGraph"}


def test_langgraphs_prebuilt_react_agent_is_an_agent(
    handler: OpenTelemetryCallbackHandler, exporter: InMemorySpanExporter
) -> None:
    import warnings

    from langgraph.prebuilt import create_react_agent

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # deprecated in favour of create_agent; still widely used
        agent = create_react_agent(adder_model(), [add_one], name="react")
    agent.invoke({"messages": [HumanMessage("1+1?")]}, {"callbacks": [handler]})

    spans = exporter.get_finished_spans()
    root = by_name(spans, "invoke_agent react")
    assert parent_id(root) is None
    assert attributes(root)["gen_ai.agent.name"] == "react"
    assert agent_names(spans, "chat fake-model-1") == {"react"}
    assert agent_names(spans, "execute_tool add_one") == {"react"}


class Count(TypedDict):
    n: int


def counting_graph(name: str | None = None) -> Any:
    builder = StateGraph(Count)
    builder.add_node("double", lambda state: {"n": state["n"] * 2})
    builder.add_node("increment", lambda state: {"n": state["n"] + 1})
    builder.add_edge(START, "double")
    builder.add_edge("double", "increment")
    builder.add_edge("increment", END)
    return builder.compile(name=name) if name else builder.compile()


@pytest.mark.parametrize("name", [None, "pricing"])
def test_a_graph_that_is_no_agent_is_a_workflow(
    name: str | None, handler: OpenTelemetryCallbackHandler, exporter: InMemorySpanExporter
) -> None:
    assert counting_graph(name).invoke({"n": 3}, {"callbacks": [handler]}) == {"n": 7}

    workflow_name = name or "LangGraph"
    spans = exporter.get_finished_spans()
    assert_span_trees(spans, (f"invoke_workflow {workflow_name}", ["double", "increment"]))
    root = by_name(spans, f"invoke_workflow {workflow_name}")
    assert root.kind is SpanKind.INTERNAL
    assert {k: v for k, v in attributes(root).items() if k.startswith("gen_ai.")} == {
        "gen_ai.operation.name": "invoke_workflow",
        "gen_ai.workflow.name": workflow_name,
    }
    assert not any(k.startswith("gen_ai.") for k in attributes(by_name(spans, "double")))


def test_a_workflow_inside_a_node_and_an_agent_inside_a_workflow(
    handler: OpenTelemetryCallbackHandler, exporter: InMemorySpanExporter
) -> None:
    inner = counting_graph("inner_steps")
    agent = create_agent(adder_model(), tools=[add_one], name="helper")

    class State(TypedDict):
        n: int
        answer: str

    def run_inner(state: State, config: RunnableConfig) -> dict[str, Any]:
        return {"n": inner.invoke({"n": state["n"]}, config)["n"]}

    def ask(state: State, config: RunnableConfig) -> dict[str, Any]:
        result = agent.invoke({"messages": [HumanMessage(f"{state['n']}+1?")]}, config)
        return {"answer": str(result["messages"][-1].content)}

    builder = StateGraph(State)
    builder.add_node("run_inner", run_inner)
    builder.add_node("ask", ask)
    builder.add_edge(START, "run_inner")
    builder.add_edge("run_inner", "ask")
    builder.add_edge("ask", END)
    result = builder.compile(name="pipeline").invoke({"n": 3, "answer": ""}, {"callbacks": [handler]})
    assert result == {"n": 7, "answer": "The answer is 2"}

    spans = exporter.get_finished_spans()
    pipeline = by_name(spans, "invoke_workflow pipeline")
    nested = by_name(spans, "invoke_workflow inner_steps")
    helper = by_name(spans, "invoke_agent helper")
    assert parent_id(nested) == span_id(by_name(spans, "run_inner"))
    assert parent_id(helper) == span_id(by_name(spans, "ask"))
    assert parent_id(by_name(spans, "ask")) == span_id(pipeline)
    assert agent_names(spans, "chat fake-model-1") == {"helper"}


def test_agent_spans_carry_the_conversation_with_capture_on(
    capturing: OpenTelemetryCallbackHandler, exporter: InMemorySpanExporter
) -> None:
    create_agent(adder_model(), tools=[add_one], name="adder").invoke(
        {"messages": [HumanMessage("1+1?")]}, {"callbacks": [capturing]}
    )

    agent = by_name(exporter.get_finished_spans(), "invoke_agent adder")
    assert json.loads(str(attributes(agent)["gen_ai.input.messages"])) == [
        {"role": "user", "parts": [{"type": "text", "content": "1+1?"}]}
    ]
    assert json.loads(str(attributes(agent)["gen_ai.output.messages"])) == [
        {
            "role": "assistant",
            "parts": [{"type": "text", "content": "The answer is 2"}],
            "name": "adder",  # create_agent names its replies after the agent
            "finish_reason": "stop",
        }
    ]


def test_agent_messages_stay_off_by_default(
    handler: OpenTelemetryCallbackHandler, exporter: InMemorySpanExporter
) -> None:
    create_agent(adder_model(), tools=[add_one], name="adder").invoke(
        {"messages": [HumanMessage("1+1?")]}, {"callbacks": [handler]}
    )
    agent = by_name(exporter.get_finished_spans(), "invoke_agent adder")
    assert "gen_ai.input.messages" not in attributes(agent)
    assert "gen_ai.output.messages" not in attributes(agent)


@pytest.mark.parametrize("run_name", [None, "math_agent"])
def test_agent_executor_spans_carry_its_question_and_answer(
    run_name: str | None, capturing: OpenTelemetryCallbackHandler, exporter: InMemorySpanExporter
) -> None:
    from langchain_classic.agents import AgentExecutor, create_tool_calling_agent

    prompt = ChatPromptTemplate.from_messages([("human", "{input}"), ("placeholder", "{agent_scratchpad}")])
    executor = AgentExecutor(agent=create_tool_calling_agent(adder_model(), [add_one], prompt), tools=[add_one])
    config: dict[str, Any] = {"callbacks": [capturing]}
    if run_name:
        config["run_name"] = run_name
    executor.invoke({"input": "1+1?"}, config)

    agent = by_name(exporter.get_finished_spans(), f"invoke_agent {run_name or 'AgentExecutor'}")
    assert json.loads(str(attributes(agent)["gen_ai.input.messages"])) == [
        {"role": "user", "parts": [{"type": "text", "content": "1+1?"}]}
    ]
    # The executor's answer has no finish reason of its own: none is made up.
    assert json.loads(str(attributes(agent)["gen_ai.output.messages"])) == [
        {"role": "assistant", "parts": [{"type": "text", "content": "The answer is 2"}]}
    ]

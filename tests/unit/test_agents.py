"""Agents, tools, retrievers, custom events and retries: the right spans, attributes and span events."""

from __future__ import annotations

from typing import Any

import pytest
import tenacity
from langchain.agents import create_agent
from langchain_core.callbacks import CallbackManagerForLLMRun, CallbackManagerForRetrieverRun, dispatch_custom_event
from langchain_core.documents import Document
from langchain_core.language_models.fake import FakeListLLM
from langchain_core.language_models.llms import create_base_retry_decorator
from langchain_core.messages import HumanMessage
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables import RunnableLambda
from langchain_core.tools import tool
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from lc_otel import OpenTelemetryCallbackHandler
from lc_otel._settings import Settings
from lc_otel.testing import FakeChatModel, assert_span_trees, find_span, reply
from tests.support.spans import parent_id, span_id


@tool
def add_one(a: int) -> int:
    """Add one to a number."""
    return a + 1


def scripted_model() -> FakeChatModel:
    return FakeChatModel(
        responses=[
            reply(
                "", input_tokens=20, output_tokens=5, tool_calls=[{"name": "add_one", "args": {"a": 1}, "id": "call-1"}]
            ),
            reply("The answer is 2", input_tokens=30, output_tokens=6),
        ]
    )


def attributes(span: ReadableSpan) -> dict[str, Any]:
    return dict(span.attributes or {})


def test_create_agent_gives_an_invoke_agent_tree(
    handler: OpenTelemetryCallbackHandler, exporter: InMemorySpanExporter
) -> None:
    agent = create_agent(scripted_model(), tools=[add_one], name="adder")
    agent.invoke({"messages": [HumanMessage("1+1?")]}, {"callbacks": [handler]})

    spans = exporter.get_finished_spans()
    assert_span_trees(
        spans,
        (
            "invoke_agent adder",
            [
                ("model", [("chat fake-model-1", [])]),
                ("tools", [("execute_tool add_one", [])]),
                ("model", [("chat fake-model-1", [])]),
            ],
        ),
    )
    root = find_span(spans, "invoke_agent adder")
    assert root.kind is SpanKind.INTERNAL
    assert attributes(root)["gen_ai.operation.name"] == "invoke_agent"
    assert attributes(root)["gen_ai.agent.name"] == "adder"
    assert (attributes(root)["langchain.usage.input_tokens"], attributes(root)["langchain.usage.output_tokens"]) == (
        50,
        11,
    )
    assert attributes(root)["langchain.usage.total_tokens"] == 61
    tool_span = find_span(spans, "execute_tool add_one")
    assert tool_span.kind is SpanKind.INTERNAL
    assert {k: v for k, v in attributes(tool_span).items() if k.startswith("gen_ai.")} == {
        "gen_ai.operation.name": "execute_tool",
        "gen_ai.tool.name": "add_one",
        "gen_ai.tool.type": "function",
        "gen_ai.tool.description": "Add one to a number.",
        "gen_ai.tool.call.id": "call-1",
        "gen_ai.agent.name": "adder",
    }
    # The agent's model calls say which agent made them, too.
    assert {attributes(s)["gen_ai.agent.name"] for s in spans if s.name == "chat fake-model-1"} == {"adder"}


def test_a_subagent_called_as_a_tool_gets_its_own_agent_span(
    handler: OpenTelemetryCallbackHandler, exporter: InMemorySpanExporter
) -> None:
    inner = create_agent(FakeChatModel(responses=[reply("inner done")]), tools=[], name="researcher")

    @tool
    def research(question: str) -> str:
        """Ask the research agent."""
        result = inner.invoke({"messages": [HumanMessage(question)]})
        return str(result["messages"][-1].content)

    outer_model = FakeChatModel(
        responses=[
            reply("", tool_calls=[{"name": "research", "args": {"question": "why?"}, "id": "call-r"}]),
            reply("done"),
        ]
    )
    create_agent(outer_model, tools=[research], name="planner").invoke(
        {"messages": [HumanMessage("go")]}, {"callbacks": [handler]}
    )

    spans = exporter.get_finished_spans()
    planner = find_span(spans, "invoke_agent planner")
    researcher = find_span(spans, "invoke_agent researcher")
    tool_span = find_span(spans, "execute_tool research")
    assert parent_id(researcher) == span_id(tool_span)
    assert attributes(researcher)["gen_ai.agent.name"] == "researcher"
    assert parent_id(planner) is None


@pytest.mark.parametrize("run_name", [None, "math_agent"])
def test_legacy_agent_executor_gives_invoke_agent_with_action_events(
    run_name: str | None, handler: OpenTelemetryCallbackHandler, exporter: InMemorySpanExporter
) -> None:
    from langchain_classic.agents import AgentExecutor, create_tool_calling_agent

    prompt = ChatPromptTemplate.from_messages([("human", "{input}"), ("placeholder", "{agent_scratchpad}")])
    executor = AgentExecutor(agent=create_tool_calling_agent(scripted_model(), [add_one], prompt), tools=[add_one])
    config: dict[str, Any] = {"callbacks": [handler]}
    if run_name:
        config["run_name"] = run_name
    assert executor.invoke({"input": "1+1?"}, config)["output"] == "The answer is 2"

    name = run_name or "AgentExecutor"
    spans = exporter.get_finished_spans()
    agent = find_span(spans, f"invoke_agent {name}")
    assert attributes(agent)["gen_ai.agent.name"] == name
    assert attributes(agent)["langchain.usage.total_tokens"] == 61
    assert [(e.name, dict(e.attributes or {})) for e in agent.events] == [
        ("langchain.agent.action", {"gen_ai.tool.name": "add_one"}),
        ("langchain.agent.finish", {}),
    ]
    assert parent_id(find_span(spans, "execute_tool add_one")) == span_id(agent)


def test_agent_events_carry_logs_only_with_content_capture(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    from langchain_classic.agents import AgentExecutor, create_tool_calling_agent

    handler = OpenTelemetryCallbackHandler(provider, settings=Settings(capture_content=True))
    prompt = ChatPromptTemplate.from_messages([("human", "{input}"), ("placeholder", "{agent_scratchpad}")])
    executor = AgentExecutor(agent=create_tool_calling_agent(scripted_model(), [add_one], prompt), tools=[add_one])
    executor.invoke({"input": "1+1?"}, {"callbacks": [handler]})

    agent = find_span(exporter.get_finished_spans(), "invoke_agent AgentExecutor")
    action, finish = agent.events
    assert "add_one" in str((action.attributes or {})["langchain.agent.log"])
    assert "The answer is 2" in str((finish.attributes or {})["langchain.output"])


# --- retrievers, custom events, retries -----------------------------------------------------------------


class ThreeDocs(BaseRetriever):
    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
        return [Document(page_content=f"{query} {i}", metadata={"i": i}) for i in range(3)]


def test_retriever_span_counts_documents(handler: OpenTelemetryCallbackHandler, exporter: InMemorySpanExporter) -> None:
    ThreeDocs().invoke("cats", {"callbacks": [handler]})

    (span,) = exporter.get_finished_spans()
    assert span.name == "retrieval ThreeDocs"
    assert span.kind is SpanKind.CLIENT
    assert attributes(span)["gen_ai.operation.name"] == "retrieval"
    assert attributes(span)["langchain.retriever.document_count"] == 3
    assert "langchain.output" not in attributes(span)


def test_custom_events_land_on_the_dispatching_run(
    handler: OpenTelemetryCallbackHandler, exporter: InMemorySpanExporter
) -> None:
    def step(x: str) -> str:
        dispatch_custom_event("progress", {"done": 50, "token": "sk-never-exported-123456789"})
        return x

    chain = RunnableLambda(lambda x: x).with_config(run_name="first") | RunnableLambda(step).with_config(
        run_name="second"
    )
    chain.invoke("x", {"callbacks": [handler]})

    spans = exporter.get_finished_spans()
    assert find_span(spans, "first").events == ()
    (event,) = find_span(spans, "second").events
    assert event.name == "langchain.custom_event"
    assert dict(event.attributes or {}) == {"langchain.custom_event.name": "progress"}


class FlakyLLM(FakeListLLM):
    """Fails once, then answers, retried by LangChain's own retry decorator (which fires ``on_retry``)."""

    failures: int = 1

    def _call(
        self,
        prompt: str,
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> str:
        retry = create_base_retry_decorator(error_types=[ConnectionError], max_retries=3, run_manager=run_manager)

        @retry
        def attempt() -> str:
            if self.failures:
                self.failures -= 1
                raise ConnectionError("flaky")
            return "ok"

        attempt.retry.wait = tenacity.wait_none()  # LangChain waits >= 4 s between attempts
        return attempt()


def test_retries_are_events_on_the_model_span(
    handler: OpenTelemetryCallbackHandler, exporter: InMemorySpanExporter
) -> None:
    assert FlakyLLM(responses=["unused"]).invoke("x", {"callbacks": [handler]}) == "ok"

    (span,) = exporter.get_finished_spans()
    (event,) = span.events
    assert event.name == "langchain.retry"
    assert dict(event.attributes or {}) == {"langchain.retry.attempt": 1, "error.type": "ConnectionError"}


def test_with_retry_records_its_retries_as_events_with_the_attempt_number(
    handler: OpenTelemetryCallbackHandler, exporter: InMemorySpanExporter
) -> None:
    """``with_retry`` never calls ``on_retry``: its attempts still become ``langchain.retry`` events.

    LangChain marks attempts 2, 3, ... with the structural tag ``retry:attempt:N`` (dropped from the tags);
    the retrying run's span gets one ``langchain.retry`` event per failed attempt, like ``on_retry`` gives.
    """
    attempts = iter([ValueError("flaky"), ValueError("flaky"), None])

    def flaky(x: int) -> int:
        error = next(attempts)
        if error is not None:
            raise error
        return x

    retrying = RunnableLambda(flaky).with_retry(stop_after_attempt=3, wait_exponential_jitter=False)
    assert retrying.invoke(1, {"callbacks": [handler]}) == 1

    root = next(s for s in exporter.get_finished_spans() if s.parent is None)
    retries = [e for e in root.events if e.name == "langchain.retry"]
    assert [dict(e.attributes or {}) for e in retries] == [
        {"langchain.retry.attempt": 1},
        {"langchain.retry.attempt": 2},
    ]

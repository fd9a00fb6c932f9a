"""``token_usage()``: every model call inside the block counted once, for any provider, in any execution mode."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from langchain_core.language_models.fake import FakeListLLM
from langchain_core.messages import HumanMessage
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import RunnableLambda, RunnableParallel
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from lc_otel import OpenTelemetryCallbackHandler
from lc_otel._token_usage import ModelUsage, TokenUsage, token_usage
from lc_otel.testing import FakeChatModel, reply


def model(**kwargs: Any) -> FakeChatModel:
    kwargs.setdefault("responses", [reply("Hello world", input_tokens=7, output_tokens=3)])
    return FakeChatModel(**kwargs)


def totals(usage: ModelUsage) -> tuple[int, int, int, int]:
    return usage.input_tokens, usage.output_tokens, usage.total_tokens, usage.calls


# --- the three patterns of LangChain's token-counting guide ---------------------------------------------


def test_two_sequential_calls_count_double() -> None:
    llm = model()
    with token_usage() as usage:
        llm.invoke("What is the square root of 4?")
    one = totals(usage)
    with token_usage() as usage:
        llm.invoke("What is the square root of 4?")
        llm.invoke("What is the square root of 4?")
    assert one == (7, 3, 10, 1)
    assert totals(usage) == (14, 6, 20, 2)


async def test_three_concurrent_calls_under_gather_count_triple() -> None:
    llm = model(delay=0.01)
    async with token_usage() as usage:
        await asyncio.gather(*(llm.ainvoke("What is the square root of 4?") for _ in range(3)))
    assert totals(usage) == (21, 9, 30, 3)


async def test_a_task_started_before_the_block_is_not_counted() -> None:
    llm = model(delay=0.05)
    task = asyncio.create_task(llm.ainvoke("started outside"))
    async with token_usage() as usage:
        await llm.ainvoke("inside")
    await task
    assert totals(usage) == (7, 3, 10, 1)


# --- execution modes ------------------------------------------------------------------------------------


def test_streamed_calls_count_the_usage_chunk() -> None:
    llm = model()
    with token_usage() as usage:
        chunks = list(llm.stream("hi"))
    assert "".join(str(c.content) for c in chunks) == "Hello world"
    assert totals(usage) == (7, 3, 10, 1)


async def test_async_stream_and_invoke_count() -> None:
    llm = model()
    async with token_usage() as usage:
        await llm.ainvoke("hi")
        async for _ in llm.astream("hi"):
            pass
        async for _ in (ChatPromptTemplate.from_messages([("human", "{q}")]) | llm).astream_events(
            {"q": "hi"}, version="v2"
        ):
            pass
    assert totals(usage) == (21, 9, 30, 3)


def test_batch_and_runnable_parallel_threads_count() -> None:
    llm = model()
    parallel = RunnableParallel(a=llm, b=llm, c=RunnableLambda(llm.invoke))
    with token_usage() as usage:
        llm.batch(["a", "b", "c", "d"], config={"max_concurrency": 4})
        parallel.invoke("hi")
    assert totals(usage) == (49, 21, 70, 7)


async def test_tasks_created_inside_the_block_count() -> None:
    llm = model(delay=0.01)
    async with token_usage() as usage:
        tasks = [asyncio.create_task(llm.ainvoke("x")) for _ in range(4)]
        await asyncio.gather(*tasks)
        await llm.abatch(["a", "b"])
    assert usage.calls == 6
    assert usage.total_tokens == 60


def test_calls_after_the_block_are_not_counted() -> None:
    llm = model()
    with token_usage() as usage:
        llm.invoke("inside")
    llm.invoke("after")
    assert totals(usage) == (7, 3, 10, 1)


# --- nesting and per-model breakdown --------------------------------------------------------------------


async def test_nested_blocks_outer_counts_inner_once() -> None:
    llm = model()
    async with token_usage() as outer:
        await llm.ainvoke("outer 1")
        async with token_usage() as inner:
            await llm.ainvoke("inner 1")
            with token_usage() as innermost:
                llm.invoke("innermost")
        await llm.ainvoke("outer 2")
    assert totals(innermost) == (7, 3, 10, 1)
    assert totals(inner) == (14, 6, 20, 2)
    assert totals(outer) == (28, 12, 40, 4)
    assert outer.by_model["fake-model-1"].calls == 4


def test_by_model_uses_response_model_then_request_model_then_unknown() -> None:
    answered = model(model="gpt-req", response_model="gpt-resp-2025")
    big = FakeChatModel(
        model="claude-req",
        response_model="claude-resp",
        responses=[reply("x", input_tokens=100, output_tokens=50, cache_read=40, cache_write=10, reasoning=20)],
    )
    with token_usage() as usage:
        answered.invoke("a")
        answered.invoke("b")
        big.invoke("c")
        FakeListLLM(responses=["plain text"]).invoke("legacy completion model without a name or usage")
    by_model = usage.by_model
    assert set(by_model) == {"gpt-resp-2025", "claude-resp", "unknown"}
    assert totals(by_model["gpt-resp-2025"]) == (14, 6, 20, 2)
    claude = by_model["claude-resp"]
    assert totals(claude) == (100, 50, 150, 1)
    assert (claude.cache_read_input_tokens, claude.cache_write_input_tokens, claude.reasoning_output_tokens) == (
        40,
        10,
        20,
    )
    assert totals(by_model["unknown"]) == (0, 0, 0, 1)
    assert totals(usage) == (114, 56, 170, 4)
    assert usage.cache_read_input_tokens == 40


def test_request_model_is_the_key_when_the_response_names_none() -> None:
    llm = FakeChatModel(model="only-requested", response_model="", responses=[reply("x")])
    with token_usage() as usage:
        llm.invoke("a")
        list(llm.stream("b"))
    assert set(usage.by_model) == {"only-requested"}


def test_by_model_is_a_snapshot() -> None:
    llm = model()
    with token_usage() as usage:
        llm.invoke("a")
        snapshot = usage.by_model
        llm.invoke("b")
    assert snapshot["fake-model-1"].calls == 1
    assert usage.by_model["fake-model-1"].calls == 2
    assert isinstance(usage, TokenUsage)
    assert "calls=2" in repr(usage)


# --- with the tracing handler ---------------------------------------------------------------------------


def test_counts_once_with_a_tracing_handler_passed(
    handler: OpenTelemetryCallbackHandler, exporter: InMemorySpanExporter
) -> None:
    llm = model()
    chain = ChatPromptTemplate.from_messages([("human", "{q}")]) | llm
    with token_usage() as usage:
        chain.invoke({"q": "hi"}, {"callbacks": [handler]})
        llm.invoke("direct", {"callbacks": [handler]})
    assert totals(usage) == (14, 6, 20, 2)
    chat_spans = [s for s in exporter.get_finished_spans() if s.name == "chat fake-model-1"]
    assert len(chat_spans) == 2


def test_failed_calls_are_not_counted_and_nothing_raises() -> None:
    class Broken(FakeChatModel):
        def _generate(self, *args: Any, **kwargs: Any) -> Any:
            raise RuntimeError("provider down")

    with token_usage() as usage:
        with pytest.raises(RuntimeError, match="provider down"):
            Broken(responses=[reply()]).invoke("x")
        model().invoke("ok")
    assert totals(usage) == (7, 3, 10, 1)


def test_langgraph_agent_calls_count() -> None:
    from langchain.agents import create_agent
    from langchain_core.tools import tool

    @tool
    def add(a: int) -> int:
        """Add one."""
        return a + 1

    llm = FakeChatModel(
        responses=[
            reply(
                "", input_tokens=20, output_tokens=5, tool_calls=[{"name": "add", "args": {"a": 1, "b": 2}, "id": "c1"}]
            ),
            reply("3", input_tokens=30, output_tokens=1),
        ]
    )
    agent = create_agent(llm, tools=[add], name="adder")
    with token_usage() as usage:
        agent.invoke({"messages": [HumanMessage("1+2?")]})
    assert totals(usage) == (50, 6, 56, 2)

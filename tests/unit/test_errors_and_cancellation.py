"""Failures mark the failing span and its ancestors; cancellation ends spans at once, marked, not failed."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from langchain_core.language_models.fake_chat_models import FakeListChatModel, FakeListChatModelError
from langchain_core.runnables import RunnableConfig, RunnableLambda, RunnableParallel
from langchain_core.tools import tool
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from lc_otel import OpenTelemetryCallbackHandler
from lc_otel.testing import assert_span_trees, find_span


class LookupFailedError(Exception):
    """The error a tool raises in these tests."""


@tool
def lookup(city: str) -> str:
    """Look a city up."""
    raise LookupFailedError(f"no data for {city}")


@tool
def echo(text: str) -> str:
    """Echo the text."""
    return text


def cfg(handler: OpenTelemetryCallbackHandler) -> RunnableConfig:
    return {"callbacks": [handler]}


def test_a_nested_tool_error_marks_the_path_not_the_siblings(
    handler: OpenTelemetryCallbackHandler, exporter: InMemorySpanExporter
):
    """The tool and the chains it propagates through are ERROR; the sibling branch stays OK."""
    branches = RunnableParallel(
        good=RunnableLambda(lambda x: echo.invoke({"text": x})).with_config(run_name="good"),
        bad=RunnableLambda(lambda x: lookup.invoke({"city": x})).with_config(run_name="bad"),
    )
    with pytest.raises(LookupFailedError):
        branches.invoke("Paris", cfg(handler))
    spans = exporter.get_finished_spans()
    expected = (
        "RunnableParallel<good,bad>",
        [("good", [("execute_tool echo", [])]), ("bad", [("execute_tool lookup", [])])],
    )
    assert_span_trees(spans, expected, ordered=False)
    failed = {s.name for s in spans if s.status.status_code is StatusCode.ERROR}
    assert failed == {"execute_tool lookup", "bad", "RunnableParallel<good,bad>"}
    tool_span = find_span(spans, "execute_tool lookup")
    assert tool_span.status.description == "LookupFailedError: no data for Paris"
    assert tool_span.attributes is not None
    assert tool_span.attributes["error.type"] == f"{__name__}.LookupFailedError"
    assert [e.name for e in tool_span.events] == ["exception"]
    assert tool_span.events[0].attributes["exception.message"] == "no data for Paris"
    assert find_span(spans, "good").status.status_code is StatusCode.UNSET
    assert handler.open_runs == 0


def test_builtin_error_type_is_the_bare_name(handler: OpenTelemetryCallbackHandler, exporter: InMemorySpanExporter):
    """Builtin exceptions are named without their module."""

    def boom(_: Any) -> None:
        raise ValueError("kaboom")

    with pytest.raises(ValueError, match="kaboom"):
        RunnableLambda(boom).invoke(1, cfg(handler))
    (span,) = exporter.get_finished_spans()
    assert span.attributes is not None
    assert span.attributes["error.type"] == "ValueError"
    assert span.status.description == "ValueError: kaboom"
    assert "langchain.run.cancelled" not in span.attributes


async def test_cancelled_task_ends_every_span_marked_cancelled(
    handler: OpenTelemetryCallbackHandler, exporter: InMemorySpanExporter
):
    """A task cancelled mid-model-call leaves no span open; all are cancelled, none ERROR."""
    slow = FakeListChatModel(responses=["slow answer"], sleep=0.5)  # async streaming sleeps per chunk
    chain = RunnableLambda(lambda x: x).with_config(run_name="prepare") | slow

    async def consume() -> None:
        async for _ in chain.astream("q", cfg(handler)):
            pass

    task = asyncio.create_task(consume())
    await asyncio.sleep(0.2)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await asyncio.sleep(0.05)  # LangChain's shielded end events run as their own tasks
    spans = exporter.get_finished_spans()
    assert sorted(s.name for s in spans) == ["RunnableSequence", "chat", "prepare"]
    for name in ("RunnableSequence", "chat"):
        span = find_span(spans, name)
        assert span.attributes is not None
        assert span.attributes["langchain.run.cancelled"] is True
        assert span.status.status_code is StatusCode.UNSET
    assert find_span(spans, "prepare").status.status_code is StatusCode.UNSET
    assert handler.open_runs == 0


async def test_astream_events_client_disconnect(handler: OpenTelemetryCallbackHandler, exporter: InMemorySpanExporter):
    """A consumer that stops reading astream_events (an SSE client going away) ends the spans as cancelled."""
    model = FakeListChatModel(responses=["a long streamed answer " * 20], sleep=0.01)
    chain = RunnableLambda(lambda x: x).with_config(run_name="prepare") | model
    seen = 0
    stream = chain.astream_events("q", cfg(handler), version="v2")
    async for event in stream:
        if event["event"] == "on_chat_model_stream":
            seen += 1
            if seen == 3:
                break
    await stream.aclose()
    await asyncio.sleep(0.1)
    spans = exporter.get_finished_spans()
    assert sorted(s.name for s in spans) == ["RunnableSequence", "chat", "prepare"]
    chat = find_span(spans, "chat")
    assert chat.attributes is not None
    assert chat.attributes["langchain.run.cancelled"] is True
    assert chat.status.status_code is StatusCode.UNSET
    assert handler.open_runs == 0


async def test_abandoned_async_stream(handler: OpenTelemetryCallbackHandler, exporter: InMemorySpanExporter):
    """An async stream closed after a few chunks leaves no span open."""
    model = FakeListChatModel(responses=["abcdefghij"])
    stream = model.astream("q", cfg(handler))
    async for _ in stream:
        break
    await stream.aclose()
    await asyncio.sleep(0.05)
    (chat,) = exporter.get_finished_spans()
    assert chat.name == "chat"
    assert handler.open_runs == 0


def test_abandoned_sync_stream(handler: OpenTelemetryCallbackHandler, exporter: InMemorySpanExporter):
    """A sync stream closed early ends its spans."""
    chain = RunnableLambda(lambda x: x).with_config(run_name="prepare") | FakeListChatModel(responses=["abcdef"])
    stream = chain.stream("q", cfg(handler))
    next(iter(stream))
    stream.close()
    assert sorted(s.name for s in exporter.get_finished_spans()) == ["RunnableSequence", "chat", "prepare"]
    assert handler.open_runs == 0


def test_model_error_mid_stream(handler: OpenTelemetryCallbackHandler, exporter: InMemorySpanExporter):
    """A model failing mid-stream is ERROR, and the chunks it streamed are counted."""
    model = FakeListChatModel(responses=["abcdef"], error_on_chunk_number=3)
    with pytest.raises(FakeListChatModelError):
        list(model.stream("q", cfg(handler)))
    (chat,) = exporter.get_finished_spans()
    assert chat.status.status_code is StatusCode.ERROR
    assert chat.attributes is not None
    assert chat.attributes["error.type"].endswith("FakeListChatModelError")
    assert chat.attributes["langchain.stream.chunk_count"] == 3


class _UnprintableError(Exception):
    """An exception whose message cannot be rendered (its ``__str__`` raises)."""

    def __str__(self) -> str:
        raise RuntimeError("no message for you")


def test_a_failing_tool_whose_exception_cannot_be_printed_still_gets_an_ended_error_span(
    handler: OpenTelemetryCallbackHandler, exporter: InMemorySpanExporter
) -> None:
    """The span ends once, ERROR, with the exception's class where its message would be."""

    @tool
    def explode(x: int) -> int:
        """Always fails."""
        raise _UnprintableError

    with pytest.raises(_UnprintableError):
        explode.invoke({"x": 1}, cfg(handler))

    span = find_span(exporter.get_finished_spans(), "execute_tool explode")
    assert span.status.status_code is StatusCode.ERROR
    assert span.status.description == "_UnprintableError"
    assert span.attributes is not None
    assert span.attributes["error.type"] == f"{__name__}._UnprintableError"
    assert [event.name for event in span.events] == ["exception"]
    assert handler.open_runs == 0

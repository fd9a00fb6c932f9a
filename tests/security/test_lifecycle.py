"""Every started span ends: when lc_otel's own end path fails, and when a task is cancelled where LangChain
sends no end event (``astream_events`` right after its start, a model ``ainvoke``, a retriever, another async
handler awaiting the start event)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from langchain_core.callbacks import AsyncCallbackHandler
from langchain_core.documents import Document
from langchain_core.language_models.fake_chat_models import FakeListChatModel
from langchain_core.messages import AIMessage
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables import Runnable, RunnableConfig, RunnableLambda
from langchain_core.tools import tool
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from lc_otel import OpenTelemetryCallbackHandler
from lc_otel._attributes import content
from lc_otel._settings import Settings
from lc_otel._tracing import run_outcome
from lc_otel._tracing.model import ModelCallbacks
from lc_otel._tracing.run_spans import RunSpans
from lc_otel.testing import FakeChatModel, find_span, reply
from tests.support.raw_usage import RawUsageModel
from tests.support.spans import parent_id, span_id


def cfg(handler: Any, *more: Any) -> RunnableConfig:
    return {"callbacks": [handler, *more]}


def internal_errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "lc_otel" and "internal error" in r.getMessage()]


@pytest.fixture(name="double_ends")
def _double_ends(caplog: pytest.LogCaptureFixture) -> Callable[[], list[str]]:
    """The SDK's "Calling end() on an ended span" warnings: a span ended twice."""
    caplog.set_level(logging.WARNING, logger="opentelemetry.sdk.trace")
    return lambda: [r.getMessage() for r in caplog.records if "ended span" in r.getMessage()]


def assert_cancelled(span: ReadableSpan) -> None:
    assert span.attributes is not None
    assert span.attributes["langchain.run.cancelled"] is True
    assert span.status.status_code is StatusCode.UNSET  # the caller that gave up records the error


# --- a failure inside an end or error path --------------------------------------------------------------------


@pytest.mark.internal_errors
def test_an_unreadable_token_count_still_ends_the_model_span_under_its_parent(
    handler: OpenTelemetryCallbackHandler, exporter: InMemorySpanExporter, double_ends: Callable[[], list[str]]
) -> None:
    chain = RunnableLambda(lambda x: x).with_config(run_name="prepare") | RawUsageModel(
        # "²", "³": str.isdigit() says yes, int() says no.
        token_usage={"prompt_tokens": "²", "completion_tokens": "³", "total_tokens": "⁵"},
        answer="hi",
    )
    assert chain.invoke("q", cfg(handler)).content == "hi"
    spans = exporter.get_finished_spans()
    assert sorted(s.name for s in spans) == ["RunnableSequence", "chat", "prepare"]
    root = find_span(spans, "RunnableSequence")
    assert parent_id(find_span(spans, "chat")) == span_id(root)
    assert parent_id(find_span(spans, "prepare")) == span_id(root)
    assert handler.open_runs == 0
    assert double_ends() == []


class _Unprintable:
    """An output no code can look at: every way of printing, iterating or reading it raises."""

    def __repr__(self) -> str:
        raise RuntimeError("no repr")

    def __str__(self) -> str:
        raise RuntimeError("no str")

    def __iter__(self) -> Iterator[Any]:
        raise RuntimeError("no iter")

    def __getattr__(self, name: str) -> Any:
        raise RuntimeError(f"no {name}")


@tool
def unprintable_tool(text: str) -> Any:
    """Return something that cannot be printed."""
    return _Unprintable()


@pytest.mark.internal_errors
@pytest.mark.parametrize("capture", [False, True], ids=["capture-off", "capture-on"])
def test_an_unprintable_output_still_ends_every_span(
    provider: TracerProvider,
    exporter: InMemorySpanExporter,
    capture: bool,
    double_ends: Callable[[], list[str]],
) -> None:
    handler = OpenTelemetryCallbackHandler(provider, settings=Settings(capture_content=capture))
    chain = RunnableLambda(lambda x: unprintable_tool.invoke({"text": x})).with_config(run_name="outer")
    assert isinstance(chain.invoke("q", cfg(handler)), _Unprintable)
    spans = exporter.get_finished_spans()
    assert sorted(s.name for s in spans) == ["execute_tool unprintable_tool", "outer"]
    assert parent_id(find_span(spans, "execute_tool unprintable_tool")) == span_id(find_span(spans, "outer"))
    assert handler.open_runs == 0
    assert double_ends() == []


def _raise(*args: Any, **kwargs: Any) -> Any:
    raise RuntimeError("attribute computation exploded")


# Each of these computes what an end or error path records; any of them failing must not leave a span open.
_FAILING_STEPS = {
    "subtree usage": (RunSpans, "_add_subtree_usage"),
    "model response": (ModelCallbacks, "_model_end_attributes"),
    "captured content": (content, "dump"),
}


async def _failing_tool_call(text: str) -> str:
    raise ValueError(f"bad {text}")


@pytest.mark.internal_errors
@pytest.mark.parametrize("step", sorted(_FAILING_STEPS))
@pytest.mark.parametrize("outcome", ["success", "error"])
def test_a_failing_end_path_ends_each_span_exactly_once_and_logs_once(
    provider: TracerProvider,
    exporter: InMemorySpanExporter,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    double_ends: Callable[[], list[str]],
    step: str,
    outcome: str,
) -> None:
    """Stands for any defect in lc_otel's attribute code: the span still ends once, and it is reported once."""
    owner, name = _FAILING_STEPS[step]
    monkeypatch.setattr(owner, name, _raise)
    handler = OpenTelemetryCallbackHandler(provider, settings=Settings(capture_content=True))
    responses: list[BaseException | AIMessage] = [reply("fine")] if outcome == "success" else [ValueError("down")]
    model = FakeChatModel(responses=responses)
    chain = RunnableLambda(lambda x: x).with_config(run_name="prepare") | model
    if outcome == "success":
        chain.invoke("q", cfg(handler))
    else:
        with pytest.raises(ValueError, match="down"):
            chain.invoke("q", cfg(handler))
    spans = exporter.get_finished_spans()
    assert sorted(s.name for s in spans) == ["RunnableSequence", "chat fake-model-1", "prepare"]
    root = find_span(spans, "RunnableSequence")
    assert parent_id(find_span(spans, "chat fake-model-1")) == span_id(root)
    if outcome == "error":
        assert find_span(spans, "chat fake-model-1").status.status_code is StatusCode.ERROR
    assert handler.open_runs == 0
    assert double_ends() == []
    reports = internal_errors(caplog)
    assert len(reports) >= 1
    assert len(reports) == len(set(reports))  # once per place, not once per span


@pytest.mark.internal_errors
def test_a_failing_outcome_mark_still_ends_the_failed_span(
    handler: OpenTelemetryCallbackHandler,
    exporter: InMemorySpanExporter,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    double_ends: Callable[[], list[str]],
) -> None:
    monkeypatch.setattr(run_outcome, "mark_failed", _raise)
    failing = RunnableLambda(_failing_tool_call).with_config(run_name="failing")
    with pytest.raises(ValueError, match="bad q"):
        asyncio.run((RunnableLambda(lambda x: x).with_config(run_name="prepare") | failing).ainvoke("q", cfg(handler)))
    spans = exporter.get_finished_spans()
    assert sorted(s.name for s in spans) == ["RunnableSequence", "failing", "prepare"]
    assert parent_id(find_span(spans, "failing")) == span_id(find_span(spans, "RunnableSequence"))
    assert handler.open_runs == 0
    assert double_ends() == []
    assert len(internal_errors(caplog)) == 1


# --- cancellation where LangChain sends no end event ----------------------------------------------------------


def _events_chain() -> Runnable[Any, Any]:
    model = FakeListChatModel(responses=["a long streamed answer " * 5], sleep=0.01)
    return RunnableLambda(lambda x: x).with_config(run_name="prepare") | model


@pytest.mark.parametrize("clients", [5, 150])
async def test_astream_events_cancelled_right_after_it_starts_ends_every_root(
    handler: OpenTelemetryCallbackHandler, exporter: InMemorySpanExporter, clients: int
) -> None:
    """SSE clients that disconnect at once: each root span ends now, cancelled, not at the 1 h eviction."""
    chain = _events_chain()

    async def consume() -> None:
        async for _ in chain.astream_events("q", cfg(handler), version="v2"):
            pass

    tasks = [asyncio.create_task(consume()) for _ in range(clients)]
    await asyncio.sleep(0)  # each task is inside astream_events: its root run has started
    for task in tasks:
        task.cancel()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert all(isinstance(r, asyncio.CancelledError) for r in results)
    assert handler.open_runs == 0
    roots = [s for s in exporter.get_finished_spans() if s.name == "RunnableSequence"]
    assert len(roots) == clients
    for root in roots:
        assert_cancelled(root)
    assert len({s.context.trace_id for s in roots if s.context is not None}) == clients


@pytest.mark.parametrize("streaming", [False, True], ids=["invoke", "streaming"])
async def test_a_model_ainvoke_cancelled_mid_call_is_exported_at_once(
    handler: OpenTelemetryCallbackHandler, exporter: InMemorySpanExporter, streaming: bool
) -> None:
    model = FakeChatModel(responses=[reply("never sent")], delay=30)
    task = asyncio.create_task(model.ainvoke("q", cfg(handler), stream=streaming))
    await asyncio.sleep(0.05)  # the call is under way
    assert handler.open_runs == 1
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    (span,) = exporter.get_finished_spans()
    assert span.name == "chat fake-model-1"
    assert_cancelled(span)
    assert handler.open_runs == 0


class _SlowRetriever(BaseRetriever):
    async def _aget_relevant_documents(self, query: str, *, run_manager: Any) -> list[Document]:
        await asyncio.sleep(30)
        return []

    def _get_relevant_documents(self, query: str, *, run_manager: Any) -> list[Document]:
        return []


async def test_a_retriever_ainvoke_cancelled_mid_call_ends_its_span(
    handler: OpenTelemetryCallbackHandler, exporter: InMemorySpanExporter
) -> None:
    task = asyncio.create_task(_SlowRetriever().ainvoke("q", cfg(handler)))
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    (span,) = exporter.get_finished_spans()
    assert span.name == "retrieval _SlowRetriever"
    assert_cancelled(span)
    assert handler.open_runs == 0


class _SlowAsyncHandler(AsyncCallbackHandler):
    """Another async handler (a tracer like LangSmith's) that takes a moment with every start event."""

    async def on_chain_start(self, *args: Any, **kwargs: Any) -> None:
        await asyncio.sleep(0.05)

    async def on_chat_model_start(self, *args: Any, **kwargs: Any) -> None:
        await asyncio.sleep(0.05)

    async def on_tool_start(self, *args: Any, **kwargs: Any) -> None:
        await asyncio.sleep(0.05)


async def _slow(x: Any) -> Any:
    await asyncio.sleep(30)
    return x


@tool
async def slow_tool(text: str) -> str:
    """Take a while."""
    await asyncio.sleep(30)
    return text


_STARTS: dict[str, tuple[str, Callable[[RunnableConfig], Any]]] = {
    "chain": ("slow", lambda c: RunnableLambda(_slow).with_config(run_name="slow").ainvoke(1, c)),
    "tool": ("execute_tool slow_tool", lambda c: slow_tool.ainvoke({"text": "a"}, c)),
    "model": ("chat fake-model-1", lambda c: FakeChatModel(responses=[reply()], delay=30).ainvoke("q", c)),
}


@pytest.mark.parametrize("kind", sorted(_STARTS))
async def test_a_run_cancelled_while_another_handler_receives_its_start_ends(
    handler: OpenTelemetryCallbackHandler, exporter: InMemorySpanExporter, kind: str
) -> None:
    """LangChain awaits the other handlers' start events after lc_otel's; a cancellation there skipped the end."""
    name, start = _STARTS[kind]
    task = asyncio.create_task(start(cfg(handler, _SlowAsyncHandler())))
    await asyncio.sleep(0.01)  # lc_otel started the span; the other handler is still busy with the start event
    assert handler.open_runs == 1
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    (span,) = exporter.get_finished_spans()
    assert span.name == name
    assert_cancelled(span)
    assert handler.open_runs == 0


async def test_a_cancelled_astream_events_keeps_the_trees_of_the_others_whole(
    handler: OpenTelemetryCallbackHandler, exporter: InMemorySpanExporter
) -> None:
    """Cancelling one client ends its spans; a client that reads to the end gets its whole, successful tree."""
    chain = _events_chain()

    async def consume() -> int:
        return len([e async for e in chain.astream_events("q", cfg(handler), version="v2")])

    cancelled = asyncio.create_task(consume())
    finished = asyncio.create_task(consume())
    await asyncio.sleep(0)
    cancelled.cancel()
    assert await finished > 0
    with pytest.raises(asyncio.CancelledError):
        await cancelled
    assert handler.open_runs == 0
    spans = exporter.get_finished_spans()
    roots = [s for s in spans if s.name == "RunnableSequence"]
    assert len(roots) == 2
    (whole,) = [r for r in roots if r.attributes is not None and "langchain.run.cancelled" not in r.attributes]
    children = sorted(s.name for s in spans if parent_id(s) == span_id(whole))
    assert children == ["chat", "prepare"]
    assert whole.status.status_code is StatusCode.UNSET

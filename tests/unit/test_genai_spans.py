"""Model spans say what happened: GenAI attributes on chat and text spans, streams, and subtree token totals."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models.fake import FakeListLLM
from langchain_core.outputs import GenerationChunk
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import RunnableLambda, RunnableParallel
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from lc_otel import OpenTelemetryCallbackHandler
from lc_otel._settings import Settings
from lc_otel.testing import FakeChatModel, find_span, reply
from tests.support.spans import parent_id, span_id

MODEL_ATTRIBUTES = {
    "gen_ai.operation.name": "chat",
    "gen_ai.provider.name": "fake",
    "gen_ai.request.model": "fake-model-1",
    "gen_ai.response.model": "fake-model-1-2025",
    "gen_ai.response.id": "resp-1",
    "gen_ai.response.finish_reasons": ("stop",),
    "gen_ai.usage.input_tokens": 7,
    "gen_ai.usage.output_tokens": 3,
    "gen_ai.usage.cache_read.input_tokens": 2,
    "gen_ai.usage.cache_write.input_tokens": 1,
    "gen_ai.usage.cache_creation.input_tokens": 1,
    "gen_ai.usage.reasoning.output_tokens": 1,
}


def model(**kwargs: Any) -> FakeChatModel:
    kwargs.setdefault(
        "responses",
        [reply("Hello big world", input_tokens=7, output_tokens=3, cache_read=2, cache_write=1, reasoning=1)],
    )
    kwargs.setdefault("response_model", "fake-model-1-2025")
    return FakeChatModel(**kwargs)


def genai(span: ReadableSpan) -> dict[str, Any]:
    return {k: v for k, v in (span.attributes or {}).items() if k.startswith("gen_ai.")}


async def run(mode: str, llm: FakeChatModel, config: Any) -> None:
    if mode == "invoke":
        llm.invoke("hi", config)
    elif mode == "ainvoke":
        await llm.ainvoke("hi", config)
    elif mode == "stream":
        for _ in llm.stream("hi", config):
            pass
    else:
        async for _ in llm.astream("hi", config):
            pass


@pytest.mark.parametrize("mode", ["invoke", "ainvoke", "stream", "astream"])
async def test_chat_span_attributes_in_every_mode(
    mode: str, handler: OpenTelemetryCallbackHandler, exporter: InMemorySpanExporter
) -> None:
    await run(mode, model(), {"callbacks": [handler]})

    (span,) = exporter.get_finished_spans()
    assert span.name == "chat fake-model-1"
    assert span.kind is SpanKind.CLIENT
    streamed = mode in {"stream", "astream"}
    expected = dict(MODEL_ATTRIBUTES)
    if streamed:
        expected["gen_ai.request.stream"] = True
        expected["gen_ai.response.time_to_first_chunk"] = pytest.approx(
            (span.attributes or {})["langchain.stream.time_to_first_chunk"]
        )
    assert genai(span) == expected
    attributes = dict(span.attributes or {})
    if streamed:
        # "Hello", " ", "big", " ", "world", then the usage chunk
        assert attributes["langchain.stream.chunk_count"] == 6
        first_chunk = attributes["langchain.stream.time_to_first_chunk"]
        assert isinstance(first_chunk, float)
        assert 0.0 <= first_chunk <= (span.end_time - span.start_time) / 1e9  # type: ignore[operator]
    else:
        assert "langchain.stream.chunk_count" not in attributes
        assert "langchain.stream.time_to_first_chunk" not in attributes
    assert span.events == ()


def test_chunk_events_only_when_asked_for(provider: TracerProvider, exporter: InMemorySpanExporter) -> None:
    handler = OpenTelemetryCallbackHandler(provider, settings=Settings(stream_chunk_events=True))
    list(model().stream("hi", {"callbacks": [handler]}))

    (span,) = exporter.get_finished_spans()
    events = [e for e in span.events if e.name == "langchain.stream.chunk"]
    assert [dict(e.attributes or {})["langchain.stream.chunk.index"] for e in events] == list(range(6))
    # Content stays out of the events while capture is off.
    assert all("langchain.stream.chunk.content" not in (e.attributes or {}) for e in events)


class StreamingLLM(FakeListLLM):
    """A text LLM that streams one character per chunk through the callbacks, like real integrations."""

    def _stream(
        self,
        prompt: str,
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Any:
        for char in self.responses[0]:
            chunk = GenerationChunk(text=char)
            if run_manager is not None:
                run_manager.on_llm_new_token(char, chunk=chunk)
            yield chunk


def test_text_completion_span(handler: OpenTelemetryCallbackHandler, exporter: InMemorySpanExporter) -> None:
    FakeListLLM(responses=["plain"]).invoke("prompt", {"callbacks": [handler]})
    list(StreamingLLM(responses=["abc"]).stream("prompt", {"callbacks": [handler]}))

    plain, streamed = sorted(exporter.get_finished_spans(), key=lambda s: s.start_time or 0)
    assert plain.kind is SpanKind.CLIENT
    assert (plain.attributes or {})["gen_ai.operation.name"] == "text_completion"
    assert plain.name.startswith("text_completion")
    assert (plain.attributes or {})["langchain.run.type"] == "llm"
    assert (streamed.attributes or {})["langchain.stream.chunk_count"] == 3


def test_unknown_provider_and_no_model_name(
    handler: OpenTelemetryCallbackHandler, exporter: InMemorySpanExporter
) -> None:
    llm = model(provider="brand-new-cloud", model="", response_model="")
    llm.invoke("hi", {"callbacks": [handler]})

    (span,) = exporter.get_finished_spans()
    attributes = dict(span.attributes or {})
    assert attributes["gen_ai.provider.name"] == "brand-new-cloud"
    assert "gen_ai.request.model" not in attributes
    assert "gen_ai.response.model" not in attributes
    assert span.name == "chat"


def test_bad_usage_from_an_integration_is_coerced(
    handler: OpenTelemetryCallbackHandler, exporter: InMemorySpanExporter
) -> None:
    message = reply("x")
    object.__setattr__(message, "usage_metadata", {"input_tokens": "12", "output_tokens": -4, "total_tokens": None})
    FakeChatModel(responses=[message]).invoke("hi", {"callbacks": [handler]})

    attributes = dict(exporter.get_finished_spans()[0].attributes or {})
    assert attributes["gen_ai.usage.input_tokens"] == 12
    assert attributes["gen_ai.usage.output_tokens"] == 0


# --- subtree totals on chain and agent spans ------------------------------------------------------------


def usage_of(span: ReadableSpan) -> tuple[Any, Any, Any]:
    attributes = span.attributes or {}
    return (
        attributes.get("langchain.usage.input_tokens"),
        attributes.get("langchain.usage.output_tokens"),
        attributes.get("langchain.usage.total_tokens"),
    )


def test_chain_spans_carry_their_subtree_totals(
    handler: OpenTelemetryCallbackHandler, exporter: InMemorySpanExporter
) -> None:
    small = FakeChatModel(responses=[reply("a", input_tokens=1, output_tokens=2)], model="small")
    large = FakeChatModel(responses=[reply("b", input_tokens=10, output_tokens=20)], model="large")
    inner = (ChatPromptTemplate.from_messages([("human", "{q}")]) | large).with_config(run_name="inner")
    outer = RunnableParallel(first=small, second=RunnableLambda(lambda x: {"q": str(x)}) | inner).with_config(
        run_name="outer"
    )
    outer.invoke("hi", {"callbacks": [handler]})

    spans = exporter.get_finished_spans()
    assert usage_of(find_span(spans, "outer")) == (11, 22, 33)
    assert usage_of(find_span(spans, "inner")) == (10, 20, 30)
    assert usage_of(find_span(spans, "ChatPromptTemplate")) == (None, None, None)  # no model below it
    assert "langchain.usage.input_tokens" not in (find_span(spans, "chat large").attributes or {})


async def test_subtree_totals_are_per_request_under_concurrency(
    handler: OpenTelemetryCallbackHandler, exporter: InMemorySpanExporter
) -> None:
    chain = (ChatPromptTemplate.from_messages([("human", "{q}")]) | model(delay=0.005)).with_config(run_name="req")

    await asyncio.gather(*(chain.ainvoke({"q": str(i)}, {"callbacks": [handler]}) for i in range(20)))

    roots = [s for s in exporter.get_finished_spans() if s.name == "req"]
    assert len(roots) == 20
    assert {usage_of(s) for s in roots} == {(7, 3, 10)}


def test_subtree_totals_survive_a_failing_branch(
    handler: OpenTelemetryCallbackHandler, exporter: InMemorySpanExporter
) -> None:
    def fail(_: Any) -> Any:
        raise ValueError("branch failed")

    ok = model()
    # The parallel waits for the model branch (first key) before it raises the failing branch's error.
    chain = RunnableParallel(answer=ok, check=RunnableLambda(fail)).with_config(run_name="root")
    with pytest.raises(ValueError, match="branch failed"):
        chain.invoke("hi", {"callbacks": [handler]})

    root = find_span(exporter.get_finished_spans(), "root")
    assert root.status.status_code is StatusCode.ERROR
    assert usage_of(root) == (7, 3, 10)


def test_model_span_is_child_of_its_chain(
    handler: OpenTelemetryCallbackHandler, exporter: InMemorySpanExporter
) -> None:
    (ChatPromptTemplate.from_messages([("human", "{q}")]) | model()).invoke({"q": "x"}, {"callbacks": [handler]})
    spans = exporter.get_finished_spans()
    assert parent_id(find_span(spans, "chat fake-model-1")) == span_id(find_span(spans, "RunnableSequence"))

"""The real ``ChatOpenAI`` client against a local OpenAI-compatible server: what the server sent is on the spans."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from langchain_core.prompts import ChatPromptTemplate
from langchain_openai import ChatOpenAI
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from lc_otel import OpenTelemetryCallbackHandler
from lc_otel._settings import Settings
from lc_otel._token_usage import token_usage
from lc_otel.testing import find_span
from tests.support.openai_server import OpenAIServer, openai_usage
from tests.support.spans import parent_id, span_id

# Recognisable, and shaped like a real key so that only the handler's care keeps it out of the spans.
API_KEY = "sk-lcotel-SECRET-0123456789abcdefABCDEF"


@pytest.fixture(name="server")
def _server() -> Iterator[OpenAIServer]:
    with OpenAIServer(
        content="Hello there",
        response_model="gpt-test-2025-01-01",
        response_id="chatcmpl-abc123",
        usage=openai_usage(11, 2, cached_tokens=5, reasoning_tokens=1),
    ) as server:
        yield server


def chat(server: OpenAIServer, **kwargs: object) -> ChatOpenAI:
    return ChatOpenAI(
        model="gpt-test",
        base_url=server.base_url,
        api_key=API_KEY,
        max_retries=0,
        **kwargs,
    )


def chat_span(exporter: InMemorySpanExporter) -> ReadableSpan:
    return find_span(exporter.get_finished_spans(), "chat gpt-test")


def test_invoke_records_the_servers_model_id_and_exact_usage(
    server: OpenAIServer, handler: OpenTelemetryCallbackHandler, exporter: InMemorySpanExporter
) -> None:
    model = chat(server, temperature=0.2, max_completion_tokens=50, seed=7, stop=["END"])
    message = model.invoke("hi", {"callbacks": [handler]})

    assert message.content == "Hello there"
    span = chat_span(exporter)
    assert span.kind is SpanKind.CLIENT
    assert span.status.status_code is StatusCode.UNSET
    attributes = dict(span.attributes or {})
    assert attributes["gen_ai.operation.name"] == "chat"
    assert attributes["gen_ai.provider.name"] == "openai"
    assert attributes["gen_ai.request.model"] == "gpt-test"
    assert attributes["gen_ai.request.temperature"] == 0.2
    assert attributes["gen_ai.request.max_tokens"] == 50
    assert attributes["gen_ai.request.seed"] == 7
    assert attributes["gen_ai.request.stop_sequences"] == ("END",)
    assert attributes["gen_ai.response.model"] == "gpt-test-2025-01-01"
    assert attributes["gen_ai.response.id"] == "chatcmpl-abc123"
    assert attributes["gen_ai.response.finish_reasons"] == ("stop",)
    assert attributes["gen_ai.usage.input_tokens"] == 11
    assert attributes["gen_ai.usage.output_tokens"] == 2
    assert attributes["gen_ai.usage.cache_read.input_tokens"] == 5
    assert attributes["gen_ai.usage.reasoning.output_tokens"] == 1
    assert attributes["server.address"] == "127.0.0.1"
    assert "langchain.stream.chunk_count" not in attributes
    # What the client sent is what the span says it asked for.
    (request,) = server.requests
    assert request.body["model"] == "gpt-test"
    assert request.body["temperature"] == 0.2
    assert request.headers["authorization"] == f"Bearer {API_KEY}"


def test_stream_with_usage_records_usage_chunk_and_timing(
    server: OpenAIServer, handler: OpenTelemetryCallbackHandler, exporter: InMemorySpanExporter
) -> None:
    model = chat(server, stream_usage=True)
    chunks = list(model.stream("hi", {"callbacks": [handler]}))

    assert "".join(str(c.content) for c in chunks) == "Hello there"
    (request,) = server.requests
    assert request.body["stream"] is True
    assert request.body["stream_options"] == {"include_usage": True}
    attributes = dict(chat_span(exporter).attributes or {})
    assert attributes["gen_ai.response.model"] == "gpt-test-2025-01-01"
    assert attributes["gen_ai.response.finish_reasons"] == ("stop",)
    assert attributes["gen_ai.usage.input_tokens"] == 11
    assert attributes["gen_ai.usage.output_tokens"] == 2
    assert attributes["gen_ai.usage.cache_read.input_tokens"] == 5
    assert attributes["gen_ai.usage.reasoning.output_tokens"] == 1
    assert attributes["gen_ai.request.stream"] is True
    # role chunk, "Hello", " ", "there", finish chunk, usage chunk, and LangChain's closing chunk
    assert attributes["langchain.stream.chunk_count"] == 7
    first_chunk = attributes["langchain.stream.time_to_first_chunk"]
    assert isinstance(first_chunk, float)
    assert 0.0 <= first_chunk < 5.0
    assert not chat_span(exporter).events  # per-chunk events are off by default


async def test_async_stream_in_a_chain_counts_and_nests(
    server: OpenAIServer, handler: OpenTelemetryCallbackHandler, exporter: InMemorySpanExporter
) -> None:
    chain = ChatPromptTemplate.from_messages([("human", "{q}")]) | chat(server, stream_usage=True)
    async with token_usage() as usage:
        async for _ in chain.astream({"q": "hi"}, {"callbacks": [handler]}):
            pass

    assert (usage.input_tokens, usage.output_tokens, usage.total_tokens, usage.calls) == (11, 2, 13, 1)
    assert set(usage.by_model) == {"gpt-test-2025-01-01"}
    spans = exporter.get_finished_spans()
    root = find_span(spans, "RunnableSequence")
    span = find_span(spans, "chat gpt-test")
    assert parent_id(span) == span_id(root)
    root_attributes = dict(root.attributes or {})
    assert root_attributes["langchain.usage.input_tokens"] == 11
    assert root_attributes["langchain.usage.output_tokens"] == 2
    assert root_attributes["langchain.usage.total_tokens"] == 13


def test_stream_without_usage_option_reports_no_made_up_counts(
    server: OpenAIServer, handler: OpenTelemetryCallbackHandler, exporter: InMemorySpanExporter
) -> None:
    # With a custom base_url, ChatOpenAI does not ask for the usage chunk unless told to.
    list(chat(server).stream("hi", {"callbacks": [handler]}))

    (request,) = server.requests
    assert "stream_options" not in request.body
    attributes = dict(chat_span(exporter).attributes or {})
    assert "gen_ai.usage.input_tokens" not in attributes
    assert attributes["gen_ai.response.model"] == "gpt-test-2025-01-01"


def test_server_error_marks_the_span_failed(
    server: OpenAIServer, handler: OpenTelemetryCallbackHandler, exporter: InMemorySpanExporter
) -> None:
    import openai

    server.status = 500
    with pytest.raises(openai.InternalServerError) as raised:
        chat(server).invoke("hi", {"callbacks": [handler]})
    span = chat_span(exporter)
    assert span.status.status_code is StatusCode.ERROR
    # LangChain re-raises the SDK error as its own subclass: that class is what failed the call.
    kind = type(raised.value)
    assert (span.attributes or {})["error.type"] == f"{kind.__module__}.{kind.__qualname__}"
    assert [event.name for event in span.events] == ["exception"]


@pytest.mark.parametrize("stream", [False, True])
def test_the_api_key_is_never_exported_even_with_everything_captured(
    server: OpenAIServer, provider: TracerProvider, exporter: InMemorySpanExporter, stream: bool
) -> None:
    handler = OpenTelemetryCallbackHandler(
        provider, settings=Settings(capture_content=True, stream_chunk_events=True, max_content_length=100_000)
    )
    model = chat(server, stream_usage=True, default_headers={"X-Api-Key": API_KEY}, tags=["secret-test"])
    prompt = ChatPromptTemplate.from_messages([("system", "Be brief."), ("human", "{q}")])
    chain = prompt | model
    config = {"callbacks": [handler], "metadata": {"client": model.openai_api_key}}
    if stream:
        list(chain.stream({"q": "hi"}, config))
    else:
        chain.invoke({"q": "hi"}, config)

    spans = exporter.get_finished_spans()
    assert len(spans) == 3
    dumped = json.dumps([json.loads(s.to_json()) for s in spans])
    assert "SECRET-0123456789" not in dumped
    # ... while the content really was captured, so the check above is meaningful.
    attributes = dict(find_span(spans, "chat gpt-test").attributes or {})
    assert json.loads(str(attributes["gen_ai.input.messages"])) == [
        {"role": "user", "parts": [{"type": "text", "content": "hi"}]}
    ]
    assert json.loads(str(attributes["gen_ai.system_instructions"])) == [{"type": "text", "content": "Be brief."}]
    output = json.loads(str(attributes["gen_ai.output.messages"]))
    assert output[0]["role"] == "assistant"
    assert output[0]["parts"] == [{"type": "text", "content": "Hello there"}]
    assert output[0]["finish_reason"] == "stop"
    # The key did reach the server: it was sent, just not exported.
    assert server.requests[0].headers["authorization"] == f"Bearer {API_KEY}"

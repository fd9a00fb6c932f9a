"""The real ``ChatOpenAI`` client against a local server: the HTTP client span sits under the chat span.

openai 2.x and later send through ``httpx2``, older releases through ``httpx``; the OpenTelemetry httpx
instrumentation has an instrumentor for each, and these tests use the one the installed client needs.
"""

from __future__ import annotations

import asyncio
import importlib.util
import logging
from collections.abc import Iterator

import pytest
from langchain_openai import ChatOpenAI
from opentelemetry import trace
from opentelemetry.instrumentation.instrumentor import BaseInstrumentor
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from lc_otel import OpenTelemetryCallbackHandler
from lc_otel._propagation import install as propagation
from tests.support.openai_server import OpenAIServer, openai_usage
from tests.support.spans import parent_id, span_id


def http_instrumentor() -> BaseInstrumentor:
    """The httpx instrumentor for the transport the installed ``openai`` uses."""
    import openai._base_client as base_client
    from opentelemetry.instrumentation import httpx as otel_httpx

    if importlib.util.find_spec("httpx2") is not None and "httpx2" in vars(base_client):
        return otel_httpx.HTTPX2ClientInstrumentor()
    return otel_httpx.HTTPXClientInstrumentor()


@pytest.fixture(name="instrumented")
def _instrumented(provider: TracerProvider, caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    propagation.install()
    instrumentor = http_instrumentor()
    instrumentor.instrument(tracer_provider=provider)
    caplog.set_level(logging.DEBUG, logger="opentelemetry.context")
    yield
    instrumentor.uninstrument()
    propagation.reset()
    assert [r for r in caplog.records if "Failed to detach context" in r.getMessage()] == []


@pytest.fixture(name="server")
def _server() -> Iterator[OpenAIServer]:
    with OpenAIServer(content="Hello there friend", usage=openai_usage(11, 3)) as server:
        yield server


def model_for(server: OpenAIServer) -> ChatOpenAI:
    return ChatOpenAI(
        model="gpt-test",
        base_url=server.base_url,
        api_key="sk-test",
        max_retries=0,
        stream_usage=True,
    )


@pytest.mark.usefixtures("instrumented")
@pytest.mark.parametrize("mode", ["invoke", "ainvoke", "stream", "astream"])
def test_http_span_is_a_child_of_the_chat_span(
    mode: str,
    server: OpenAIServer,
    handler: OpenTelemetryCallbackHandler,
    exporter: InMemorySpanExporter,
    provider: TracerProvider,
) -> None:
    model = model_for(server)
    config = {"callbacks": [handler]}

    async def run_async() -> None:
        if mode == "ainvoke":
            await model.ainvoke("hi", config)
        else:
            async for _ in model.astream("hi", config):
                pass

    with provider.get_tracer("app").start_as_current_span("app") as app:
        if mode == "invoke":
            model.invoke("hi", config)
        elif mode == "stream":
            assert "".join(str(c.content) for c in model.stream("hi", config)) == "Hello there friend"
        else:
            asyncio.run(run_async())
        assert trace.get_current_span() is app

    spans = exporter.get_finished_spans()
    chat = [s for s in spans if s.name == "chat gpt-test"]
    http = [s for s in spans if s.kind is SpanKind.CLIENT and s.name.startswith("POST")]
    assert len(chat) == 1, [s.name for s in spans]
    assert len(http) == 1, [s.name for s in spans]
    assert parent_id(http[0]) == span_id(chat[0])
    assert parent_id(chat[0]) == span_id(next(s for s in spans if s.name == "app"))
    assert chat[0].attributes is not None
    assert chat[0].attributes["gen_ai.usage.input_tokens"] == 11
    assert chat[0].attributes["gen_ai.usage.output_tokens"] == 3
    assert len(server.requests) == 1


@pytest.mark.usefixtures("instrumented")
def test_http_span_without_propagation_is_a_sibling(
    server: OpenAIServer, handler: OpenTelemetryCallbackHandler, exporter: InMemorySpanExporter
) -> None:
    """The opt-out restores LangChain's own behaviour: the HTTP span is parented to the caller's span."""
    propagation.uninstall()
    model_for(server).invoke("hi", {"callbacks": [handler]})
    spans = exporter.get_finished_spans()
    http = next(s for s in spans if s.name.startswith("POST"))
    assert http.parent is None

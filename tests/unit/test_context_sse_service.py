"""``examples/sse_service.py`` served for real: uvicorn on loopback, an httpx client reading the event stream,
``ChatOpenAI`` against a local OpenAI-compatible server; spans in memory, checked as whole traces.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import socketserver
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from langchain_core.callbacks import AsyncCallbackManagerForLLMRun
from langchain_core.messages import AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGenerationChunk
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from lc_otel import OpenTelemetryCallbackHandler
from lc_otel._propagation import install as propagation
from lc_otel.testing import FakeChatModel, reply
from tests.support.openai_server import OpenAIServer, openai_usage
from tests.support.spans import parent_id, span_id, trace_id
from tests.unit.test_context_httpx import http_instrumentor

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "sse_service.py"
ANSWER = "Paris is the capital"


def load_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("sse_service_example", EXAMPLE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # Registered first: FastAPI resolves the request model's (postponed) annotations through the module.
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


class Served:
    """A uvicorn server on 127.0.0.1, on a free port, in a thread."""

    def __init__(self, app: FastAPI) -> None:
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, name="uvicorn", daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.01)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture(name="tracing")
def _tracing(provider: TracerProvider) -> Iterator[None]:
    propagation.install()
    instrumentor = http_instrumentor()
    instrumentor.instrument(tracer_provider=provider)
    yield
    instrumentor.uninstrument()
    propagation.reset()


@pytest.fixture(name="openai_server")
def _openai_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[OpenAIServer]:
    # 20 clients connect at once; the stdlib server's default listen backlog (5) would refuse some.
    monkeypatch.setattr(socketserver.TCPServer, "request_queue_size", 64)
    with OpenAIServer(content=ANSWER, usage=openai_usage(21, 4)) as server:
        yield server


def service(provider: TracerProvider, handler: OpenTelemetryCallbackHandler, model: Any) -> FastAPI:
    app: FastAPI = load_example().create_app(model=model, callbacks=[handler])
    FastAPIInstrumentor.instrument_app(app, tracer_provider=provider)
    return app


def chat_openai(server: OpenAIServer) -> Any:
    from langchain_openai import ChatOpenAI

    return ChatOpenAI(
        model="gpt-test",
        base_url=server.base_url,
        api_key="sk-test",
        max_retries=0,
        stream_usage=True,
    )


async def read_events(client: httpx.AsyncClient, base: str, question: str) -> list[tuple[str, str]]:
    """POST a question; return the (event, data) pairs of the stream."""
    body = {
        "question": question,
        "chat_history": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}],
    }
    events: list[tuple[str, str]] = []
    async with client.stream("POST", f"{base}/chat", json=body) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        kind = "message"
        async for line in response.aiter_lines():
            if line.startswith("event: "):
                kind = line[len("event: ") :]
            elif line.startswith("data: "):
                events.append((kind, line[len("data: ") :]))
                kind = "message"
    return events


def wait_for_spans(
    exporter: InMemorySpanExporter, handler: OpenTelemetryCallbackHandler, requests: int
) -> tuple[ReadableSpan, ...]:
    """Spans end after the client saw the last event: wait for every run and every request span to end."""
    deadline = time.monotonic() + 20
    while True:
        spans = exporter.get_finished_spans()
        ended = sum(s.kind is SpanKind.SERVER for s in spans)
        if (ended >= requests and handler.open_runs == 0) or time.monotonic() > deadline:
            return spans
        time.sleep(0.02)


def one_trace(spans: list[ReadableSpan]) -> dict[str, ReadableSpan]:
    """Check one request's trace top to bottom; return its spans by role."""
    request = [s for s in spans if s.kind is SpanKind.SERVER]
    assert len(request) == 1, [s.name for s in spans]
    root = request[0]
    assert root.name == "POST /chat"
    assert root.parent is None
    by_id = {span_id(s): s for s in spans}
    sequence = [s for s in spans if s.name == "RunnableSequence"]
    chat = [s for s in spans if s.name.startswith("chat ")]
    assert len(sequence) == len(chat) == 1
    assert parent_id(sequence[0]) == span_id(root)
    assert by_id[parent_id(chat[0])] is sequence[0]
    for name in ("ChatPromptTemplate", "StrOutputParser"):
        (step,) = [s for s in spans if s.name == name]
        assert parent_id(step) == span_id(sequence[0])
    return {"request": root, "sequence": sequence[0], "chat": chat[0]}


@pytest.mark.usefixtures("tracing")
async def test_one_request_is_one_trace_from_request_span_to_http_call(
    provider: TracerProvider,
    handler: OpenTelemetryCallbackHandler,
    exporter: InMemorySpanExporter,
    openai_server: OpenAIServer,
) -> None:
    with Served(service(provider, handler, chat_openai(openai_server))) as base:
        async with httpx.AsyncClient(timeout=10) as client:
            events = await read_events(client, base, "Capital of France?")

    assert events[-1] == ("message", "[DONE]")
    assert "".join(json.loads(data)["token"] for _, data in events[:-1]) == ANSWER

    spans = list(wait_for_spans(exporter, handler, 1))
    assert len({trace_id(s) for s in spans}) == 1
    found = one_trace(spans)
    chat = found["chat"]
    (http,) = [s for s in spans if s.kind is SpanKind.CLIENT and s.name.startswith("POST")]
    assert parent_id(http) == span_id(chat)
    assert chat.attributes is not None
    assert chat.attributes["gen_ai.usage.input_tokens"] == 21
    assert chat.attributes["gen_ai.usage.output_tokens"] == 4
    ttft = chat.attributes["langchain.stream.time_to_first_chunk"]
    assert isinstance(ttft, float)
    assert ttft > 0
    assert all(s.status.status_code is not StatusCode.ERROR for s in spans)
    # The prompt saw the chat history.
    assert [m["role"] for m in openai_server.requests[0].body["messages"]] == ["system", "user", "assistant", "user"]


@pytest.mark.usefixtures("tracing")
async def test_twenty_concurrent_clients_get_twenty_separate_traces(
    provider: TracerProvider,
    handler: OpenTelemetryCallbackHandler,
    exporter: InMemorySpanExporter,
    openai_server: OpenAIServer,
) -> None:
    with Served(service(provider, handler, chat_openai(openai_server))) as base:
        async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=20)) as client:
            results = await asyncio.gather(*(read_events(client, base, f"question {i}") for i in range(20)))

    assert all(events[-1] == ("message", "[DONE]") for events in results)
    spans = wait_for_spans(exporter, handler, 20)
    traces: dict[int, list[ReadableSpan]] = {}
    for span in spans:
        traces.setdefault(trace_id(span), []).append(span)
    assert len(traces) == 20
    for members in traces.values():
        chat = one_trace(members)["chat"]
        (http,) = [s for s in members if s.kind is SpanKind.CLIENT and s.name.startswith("POST")]
        assert parent_id(http) == span_id(chat)
    assert len(openai_server.requests) == 20


class _FailingMidStream(FakeChatModel):
    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        yield ChatGenerationChunk(message=AIMessageChunk(content="Par"))
        raise ConnectionError("upstream reset")


class _Slow(FakeChatModel):
    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        for word in ["one ", "two ", "three"] * 50:
            yield ChatGenerationChunk(message=AIMessageChunk(content=word))
            await asyncio.sleep(0.02)


async def test_an_error_mid_stream_sends_an_error_event_and_leaves_error_spans(
    provider: TracerProvider, handler: OpenTelemetryCallbackHandler, exporter: InMemorySpanExporter
) -> None:
    with Served(service(provider, handler, _FailingMidStream(responses=[reply()]))) as base:
        async with httpx.AsyncClient(timeout=10) as client:
            events = await read_events(client, base, "Capital of France?")

    assert events[0] == ("message", json.dumps({"token": "Par"}))
    assert events[-1][0] == "error"
    assert json.loads(events[-1][1]) == {"error": "ConnectionError: upstream reset"}
    assert ("message", "[DONE]") not in events

    spans = list(wait_for_spans(exporter, handler, 1))
    found = one_trace(spans)
    for role in ("sequence", "chat"):
        span = found[role]
        assert span.status.status_code is StatusCode.ERROR
        assert span.attributes is not None
        assert span.attributes["error.type"] == "ConnectionError"


async def test_a_client_that_disconnects_leaves_its_spans_ended_and_cancelled(
    provider: TracerProvider, handler: OpenTelemetryCallbackHandler, exporter: InMemorySpanExporter
) -> None:
    with Served(service(provider, handler, _Slow(responses=[reply()]))) as base:
        async with httpx.AsyncClient(timeout=10) as client:
            body = {"question": "count", "chat_history": []}
            async with client.stream("POST", f"{base}/chat", json=body) as response:
                async for line in response.aiter_lines():
                    if line.startswith("data: "):
                        break  # one token, then hang up
        spans = list(wait_for_spans(exporter, handler, 1))

    assert handler.open_runs == 0
    found = one_trace(spans)
    for role in ("sequence", "chat"):
        span = found[role]
        assert span.end_time is not None
        assert span.attributes is not None
        assert span.attributes.get("langchain.run.cancelled") is True
        assert span.status.status_code is not StatusCode.ERROR

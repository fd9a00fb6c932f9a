"""``examples/sse_service.py`` as users run it, exporting to a real OTLP backend (Phoenix).

The example runs in its own process exactly as documented (``python examples/sse_service.py``): lc-otel
installed process-wide by ``instrument()``, ``configure()`` from the ``OTEL_*`` variables, FastAPI and the
OpenAI SDK's HTTP client instrumented, ``ChatOpenAI`` pointed at a local OpenAI-compatible server. Twenty
clients stream answers at once; Phoenix must then hold twenty whole traces, request span to HTTP call.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import socketserver
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.conftest import Phoenix
from tests.support.openai_server import OpenAIServer, openai_usage

ROOT = Path(__file__).resolve().parents[2]
ANSWER = "Paris is the capital of France"
CLIENTS = 20
WHOLE = {"POST /chat", "RunnableSequence"}  # the service's span and LangChain's outermost
pytestmark = pytest.mark.integration


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(name="openai_server")
def _openai_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[OpenAIServer]:
    # The clients connect at once; the stdlib server's default listen backlog (5) would refuse some.
    monkeypatch.setattr(socketserver.TCPServer, "request_queue_size", 64)
    with OpenAIServer(content=ANSWER, usage=openai_usage(21, 6)) as server:
        yield server


def _wait_until_serving(base: str, process: subprocess.Popen[str], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the service exited:\n{process.stderr.read() if process.stderr else ''}")
        try:
            urllib.request.urlopen(f"{base}/openapi.json", timeout=1).close()
            return
        except (urllib.error.URLError, OSError):
            time.sleep(0.1)
    pytest.fail("the service did not start")


@pytest.fixture(name="service")
def _service(phoenix: Phoenix, openai_server: OpenAIServer) -> Iterator[tuple[str, str, subprocess.Popen[str]]]:
    """The example in its own process; yields its base URL, the model name that marks its spans, the process."""
    model = f"gpt-sse-{uuid.uuid4().hex[:10]}"
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "LC_OTEL_", "OPENAI_"))}
    env.update(
        HOST="127.0.0.1",
        PORT=str(port),
        OPENAI_BASE_URL=openai_server.base_url,
        OPENAI_API_KEY="sk-test",
        OPENAI_MODEL=model,
        OTEL_SERVICE_NAME="sse-service-it",
        OTEL_EXPORTER_OTLP_ENDPOINT=phoenix.base_url,
        OTEL_EXPORTER_OTLP_PROTOCOL="http/protobuf",
        OTEL_BSP_SCHEDULE_DELAY="200",
    )
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "examples" / "sse_service.py")],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_until_serving(base, process)
        yield base, model, process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
        if process.stderr is not None:
            process.stderr.close()


async def _ask(client: httpx.AsyncClient, base: str, question: str) -> list[str]:
    body = {"question": question, "chat_history": [{"role": "user", "content": "hi"}]}
    data: list[str] = []
    async with client.stream("POST", f"{base}/chat", json=body) as response:
        assert response.status_code == 200
        async for line in response.aiter_lines():
            if line.startswith("data: "):
                data.append(line[len("data: ") :])
    return data


def _by_trace(spans: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    traces: dict[str, list[dict[str, Any]]] = {}
    for span in spans:
        traces.setdefault(span["context"]["trace_id"], []).append(span)
    return traces


def _whole_traces(phoenix: Phoenix, trace_ids: set[str], timeout: float = 60.0) -> dict[str, list[dict[str, Any]]]:
    """The spans of these traces, once each has the spans in ``WHOLE``.

    Phoenix stores spans asynchronously, in the order they arrive; the request span ends last in its trace, so
    a trace that has it has the rest. The poll asks for those few spans only: a full read of hundreds of spans
    four times a second would slow the very ingestion it waits for.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        outer = _by_trace(phoenix.spans(trace_ids, names=WHOLE))
        if sum({s["name"] for s in members} >= WHOLE for members in outer.values()) == len(trace_ids):
            break
        time.sleep(0.25)
    return _by_trace(phoenix.spans(trace_ids))


def test_twenty_streaming_clients_give_twenty_whole_traces_in_the_backend(
    phoenix: Phoenix, openai_server: OpenAIServer, service: tuple[str, str, subprocess.Popen[str]]
) -> None:
    base, model, process = service

    async def clients() -> list[list[str]]:
        async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=CLIENTS)) as client:
            return await asyncio.gather(*(_ask(client, base, f"question {i}") for i in range(CLIENTS)))

    answers = asyncio.run(clients())
    for data in answers:
        assert data[-1] == "[DONE]"
        assert "".join(json.loads(d)["token"] for d in data[:-1]) == ANSWER
    assert len(openai_server.requests) == CLIENTS

    # Stop the service: its exit flushes the last batch.
    process.send_signal(signal.SIGINT)
    exit_code = process.wait(30)
    log = process.stderr.read() if process.stderr else ""
    assert exit_code == 0, log
    assert "WARNING:lc_otel" not in log  # no span dropped, no internal error

    chats = phoenix.wait_for(CLIENTS, **{"gen_ai.request.model": model})
    assert len(chats) == CLIENTS
    trace_ids = {span["context"]["trace_id"] for span in chats}
    assert len(trace_ids) == CLIENTS  # one trace per request
    traces = _whole_traces(phoenix, trace_ids)
    assert len(traces) == CLIENTS
    for trace_id, members in traces.items():
        assert {s["name"] for s in members} >= WHOLE, (trace_id, sorted(s["name"] for s in members), log)
        by_id = {span["context"]["span_id"]: span for span in members}
        (request,) = [s for s in members if s["name"] == "POST /chat"]
        assert request["parent_id"] is None
        (sequence,) = [s for s in members if s["name"] == "RunnableSequence"]
        assert sequence["parent_id"] == request["context"]["span_id"]
        (chat,) = [s for s in members if s["name"] == f"chat {model}"]
        assert by_id[chat["parent_id"]] is sequence
        # The OpenAI SDK's HTTP call, under the chat span (not beside it).
        (http,) = [s for s in members if s["parent_id"] == chat["context"]["span_id"]]
        assert http["name"].startswith("POST")
        status = http["attributes"].get("http.response.status_code", http["attributes"].get("http.status_code"))
        assert status == 200  # the old or the new HTTP semantic conventions, as the instrumentation emits
        attributes = chat["attributes"]
        assert attributes["gen_ai.usage.input_tokens"] == 21
        assert attributes["gen_ai.usage.output_tokens"] == 6
        assert attributes["langchain.stream.time_to_first_chunk"] > 0
        assert sequence["attributes"]["langchain.usage.total_tokens"] == 27

"""A FastAPI chat service that streams an answer as server-sent events, traced with lc-otel.

``POST /chat`` takes ``{"question": ..., "chat_history": [{"role": "user"|"assistant", "content": ...}]}``
and answers with ``text/event-stream``: one ``data: {"token": "..."}`` event per token from
``astream_events(version="v2")``, then ``data: [DONE]``. A failure mid-stream sends ``event: error`` with
``data: {"error": "..."}`` and ends the stream.

Tracing: lc-otel is installed process-wide (no callbacks in the chain), FastAPI and the HTTP client the OpenAI
SDK uses are instrumented, so each request is one trace, top to bottom::

    POST /chat                          (FastAPI server span)
    └── RunnableSequence
        ├── ChatPromptTemplate
        ├── chat gpt-4o-mini            (time to first token, token usage)
        │   └── POST                    (httpx client span of the OpenAI call)
        └── StrOutputParser

A client that disconnects cancels the stream: its spans are ended and marked ``langchain.run.cancelled``.

Run it (any OpenAI-compatible server works; ``OPENAI_BASE_URL`` points elsewhere)::

    pip install 'lc-otel[examples]'   # fastapi, uvicorn, langchain-openai, OpenTelemetry instrumentations
    OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4317 OPENAI_API_KEY=... python examples/sse_service.py
    curl -N localhost:8000/chat -H 'content-type: application/json' -d '{"question": "Hi!"}'
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import AsyncIterator, Sequence
from typing import Any, Literal

from fastapi import FastAPI
from fastapi.responses import StreamingResponse
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate, MessagesPlaceholder
from langchain_core.runnables import Runnable, RunnableConfig
from pydantic import BaseModel, Field

logger = logging.getLogger("sse_service")


class Turn(BaseModel):
    """One earlier message of the conversation."""

    role: Literal["user", "assistant"]
    content: str


class ChatRequest(BaseModel):
    """The body of ``POST /chat``."""

    question: str
    chat_history: list[Turn] = Field(default_factory=list)


def default_model() -> BaseChatModel:
    """``ChatOpenAI`` from the environment (``OPENAI_BASE_URL``, ``OPENAI_API_KEY``, ``OPENAI_MODEL``)."""
    from langchain_openai import ChatOpenAI

    # stream_usage: OpenAI-compatible servers send token usage while streaming only when asked to.
    return ChatOpenAI(model=os.environ.get("OPENAI_MODEL", "gpt-4o-mini"), stream_usage=True, max_retries=1)


def build_chain(model: BaseChatModel) -> Runnable[dict[str, Any], str]:
    """Prompt with the history, the model, a string parser."""
    prompt = ChatPromptTemplate.from_messages(
        [
            ("system", "You are a helpful assistant. Answer briefly."),
            MessagesPlaceholder("chat_history"),
            ("human", "{question}"),
        ]
    )
    return prompt | model | StrOutputParser()


def _history(turns: Sequence[Turn]) -> list[BaseMessage]:
    return [HumanMessage(t.content) if t.role == "user" else AIMessage(t.content) for t in turns]


def _event(data: Any, event: str | None = None) -> str:
    prefix = f"event: {event}\n" if event else ""
    return f"{prefix}data: {json.dumps(data, ensure_ascii=False)}\n\n"


def create_app(model: BaseChatModel | None = None, callbacks: Sequence[BaseCallbackHandler] | None = None) -> FastAPI:
    """Build the service.

    Args:
        model: The chat model; :func:`default_model` when ``None``.
        callbacks: Extra request callbacks; none needed once :func:`lc_otel.instrument` ran.
    """
    chain = build_chain(model or default_model())
    app = FastAPI(title="lc-otel SSE example")

    @app.post("/chat")
    async def chat(request: ChatRequest) -> StreamingResponse:
        inputs = {"question": request.question, "chat_history": _history(request.chat_history)}
        config: RunnableConfig = {"callbacks": list(callbacks)} if callbacks else {}

        async def events() -> AsyncIterator[str]:
            try:
                async for event in chain.astream_events(inputs, config, version="v2"):
                    if event["event"] == "on_chat_model_stream":
                        token = event["data"]["chunk"].content
                        if token:
                            yield _event({"token": token})
            except Exception as error:  # noqa: BLE001 - the client gets an error event; the span has the details
                logger.warning("chat stream failed: %s", error)
                yield _event({"error": f"{type(error).__name__}: {error}"}, event="error")
                return
            yield "data: [DONE]\n\n"

        return StreamingResponse(events(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})

    return app


def instrument_http_client() -> None:
    """Instrument the HTTP client the installed OpenAI SDK sends through (``httpx2`` or ``httpx``)."""
    from opentelemetry.instrumentation import httpx as otel_httpx

    try:
        import openai._base_client as openai_client

        uses_httpx2 = "httpx2" in vars(openai_client)
    except ImportError:
        uses_httpx2 = False
    if uses_httpx2:
        otel_httpx.HTTPX2ClientInstrumentor().instrument()
    else:
        otel_httpx.HTTPXClientInstrumentor().instrument()


def setup_tracing(app: FastAPI) -> None:
    """Export spans (``OTEL_*`` variables), trace LangChain process-wide, instrument FastAPI and httpx."""
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    import lc_otel

    lc_otel.configure(service_name=os.environ.get("OTEL_SERVICE_NAME", "sse-service"))
    lc_otel.instrument()
    instrument_http_client()
    FastAPIInstrumentor.instrument_app(app)


def main() -> None:
    """Serve on ``HOST``:``PORT`` (default 127.0.0.1:8000)."""
    import uvicorn

    logging.basicConfig(level=logging.INFO)
    app = create_app()
    setup_tracing(app)
    uvicorn.run(app, host=os.environ.get("HOST", "127.0.0.1"), port=int(os.environ.get("PORT", "8000")))


if __name__ == "__main__":
    main()

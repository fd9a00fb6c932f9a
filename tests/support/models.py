"""Offline chat models for tests: they report token usage the way ``ChatOpenAI(stream_usage=True)`` does."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any, cast

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LangSmithParams
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.messages.ai import UsageMetadata
from langchain_core.messages.tool import tool_call_chunk
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult


def usage(
    input_tokens: int, output_tokens: int, *, cache_read: int = 0, cache_write: int = 0, reasoning: int = 0
) -> UsageMetadata:
    """Build LangChain's ``usage_metadata`` for a reply."""
    # A cast, not the TypedDict's constructor: langchain-core 1.8 made the detail keys required in its stubs,
    # while providers (and 0.3) leave them out when there is nothing to detail.
    found = cast(
        "UsageMetadata",
        {"input_tokens": input_tokens, "output_tokens": output_tokens, "total_tokens": input_tokens + output_tokens},
    )
    if cache_read or cache_write:
        found["input_token_details"] = {"cache_read": cache_read, "cache_creation": cache_write}
    if reasoning:
        found["output_token_details"] = {"reasoning": reasoning}
    return found


def reply(
    text: str = "Hello world",
    *,
    input_tokens: int = 7,
    output_tokens: int = 3,
    tool_calls: Sequence[dict[str, Any]] = (),
    **details: int,
) -> AIMessage:
    """An assistant reply carrying its usage (and tool calls, for agent tests)."""
    return AIMessage(
        content=text,
        usage_metadata=usage(input_tokens, output_tokens, **details),
        tool_calls=[{"type": "tool_call", **call} for call in tool_calls],
    )


class UsageChatModel(BaseChatModel):
    """Replies from a script, with usage on ``invoke`` and in a final usage chunk when streaming.

    ``invoke`` returns usage both as ``usage_metadata`` and in ``llm_output`` (like ChatOpenAI); streaming
    sends one chunk per word, then a content-less chunk with the usage, model name and finish reason.
    ``bind_tools`` returns the model itself, so it can drive agents with scripted tool calls.
    """

    responses: list[AIMessage]
    model: str = "fake-model-1"
    response_model: str | None = None
    """The model name the "server" answers with; ``model`` when ``None``; none at all when ``""``."""
    provider: str = "fake"
    response_id: str | None = "resp-1"
    delay: float = 0.0
    """Seconds each async call waits before answering, to make calls overlap."""
    calls: int = 0

    @property
    def answered_model(self) -> str:
        """The model name replies carry (empty: none)."""
        return self.model if self.response_model is None else self.response_model

    @property
    def _llm_type(self) -> str:
        return "usage-chat-model"

    def _next(self) -> AIMessage:
        message = self.responses[self.calls % len(self.responses)]
        self.calls += 1
        return message

    def _answer(self) -> AIMessage:
        message = self._next()
        metadata: dict[str, Any] = {"finish_reason": "tool_calls" if message.tool_calls else "stop"}
        if self.answered_model:
            metadata["model_name"] = self.answered_model
        if self.response_id:
            metadata["id"] = self.response_id
        return message.model_copy(update={"response_metadata": metadata})

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        message = self._answer()
        return ChatResult(
            generations=[ChatGeneration(message=message)],
            llm_output={"token_usage": dict(message.usage_metadata or {}), "model_name": self.answered_model},
        )

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        if self.delay:
            await asyncio.sleep(self.delay)
        return self._generate(messages, stop, **kwargs)

    def _chunks(self) -> Iterator[ChatGenerationChunk]:
        message = self._answer()
        for piece in re.split(r"(\s)", str(message.content)):
            if piece:
                yield ChatGenerationChunk(message=AIMessageChunk(content=piece))
        calls = [
            tool_call_chunk(name=call["name"], args=json.dumps(call["args"]), id=call["id"], index=index)
            for index, call in enumerate(message.tool_calls)
        ]
        yield ChatGenerationChunk(
            message=AIMessageChunk(
                content="",
                usage_metadata=message.usage_metadata,
                chunk_position="last",
                response_metadata=message.response_metadata,
                tool_call_chunks=calls,
            )
        )

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        for chunk in self._chunks():
            if run_manager is not None:
                run_manager.on_llm_new_token(chunk.text, chunk=chunk)
            yield chunk

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        if self.delay:
            await asyncio.sleep(self.delay)
        for chunk in self._chunks():
            if run_manager is not None:
                await run_manager.on_llm_new_token(chunk.text, chunk=chunk)
            yield chunk

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> UsageChatModel:
        """Accept any tools: the scripted replies decide which ones are called."""
        return self

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> LangSmithParams:
        params = super()._get_ls_params(stop=stop, **kwargs)
        params["ls_provider"] = self.provider
        return params

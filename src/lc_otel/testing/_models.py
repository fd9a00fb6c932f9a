"""A fake chat model that answers from a script and reports what a provider reports.

Token usage (``usage_metadata`` on the reply, and in a last usage chunk when streaming, like
``ChatOpenAI(stream_usage=True)``), the response model and id, finish reasons (``tool_calls`` when the reply
calls tools, else ``stop``, unless the script says otherwise), tool calls (also as tool-call chunks when
streaming) and ``ls_provider``. No network, no API key.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any, Literal, cast

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LangSmithParams
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.messages.ai import UsageMetadata
from langchain_core.messages.tool import tool_call_chunk
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult

_WORDS = re.compile(r"(\s)")


def usage(
    input_tokens: int, output_tokens: int, *, cache_read: int = 0, cache_write: int = 0, reasoning: int = 0
) -> UsageMetadata:
    """Build LangChain's ``usage_metadata`` for a reply.

    Args:
        input_tokens: Prompt tokens.
        output_tokens: Completion tokens.
        cache_read: Prompt tokens read from the provider's cache (a detail of ``input_tokens``).
        cache_write: Prompt tokens written to the provider's cache.
        reasoning: Completion tokens spent on reasoning (a detail of ``output_tokens``).

    Returns:
        The usage, with ``total_tokens`` and the detail keys only where there is something to detail.
    """
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
    finish_reason: str | None = None,
    **details: int,
) -> AIMessage:
    """An assistant reply for :class:`FakeChatModel`'s script, carrying its usage.

    Args:
        text: The reply's content (streamed word by word, or character by character).
        input_tokens: Prompt tokens reported.
        output_tokens: Completion tokens reported.
        tool_calls: Tool calls, each ``{"name": ..., "args": {...}, "id": ...}``.
        finish_reason: The finish reason reported; ``None``: ``tool_calls`` if the reply calls tools, else ``stop``.
        **details: ``cache_read``, ``cache_write``, ``reasoning``: see :func:`usage`.

    Returns:
        The scripted reply.
    """
    return AIMessage(
        content=text,
        usage_metadata=usage(input_tokens, output_tokens, **details),
        tool_calls=[{"type": "tool_call", **call} for call in tool_calls],
        response_metadata={} if finish_reason is None else {"finish_reason": finish_reason},
    )


class FakeChatModel(BaseChatModel):
    """A chat model that replays scripted replies and reports usage, tool calls and finish reasons.

    ``invoke`` returns usage both as ``usage_metadata`` and in ``llm_output`` (like ChatOpenAI); streaming
    sends one chunk per word (or character), then a content-less chunk with the usage, the tool calls, the model
    name and the finish reason. ``bind_tools`` returns the model itself: the script decides which tools are
    called, so it can drive agents. An exception in ``responses`` is raised by the call that reaches it.

    Example::

        model = FakeChatModel(responses=[reply("Hi!", input_tokens=12, output_tokens=2)])
    """

    # BaseException first: pydantic tries the members in order, and AIMessage's validator fails on an exception.
    responses: list[BaseException | AIMessage]
    """The replies, in order, cycling: build them with :func:`reply`."""
    model: str = "fake-model-1"
    """The requested model (``ls_model_name``, hence the span name ``chat fake-model-1``)."""
    response_model: str | None = None
    """The model name the "server" answers with; ``model`` when ``None``; none at all when ``""``."""
    provider: str = "fake"
    """``ls_provider``, hence ``gen_ai.provider.name``."""
    response_id: str | None = "resp-1"
    """The response id reported (``gen_ai.response.id``); none when ``None``."""
    chunk_by: Literal["word", "character"] = "word"
    """How a streamed reply is cut into chunks (white space counts as a chunk of its own with ``word``)."""
    delay: float = 0.0
    """Seconds each async call waits before answering, to make calls overlap."""
    calls: int = 0
    """Calls answered so far."""

    @property
    def answered_model(self) -> str:
        """The model name replies carry (empty: none)."""
        return self.model if self.response_model is None else self.response_model

    @property
    def _llm_type(self) -> str:
        return "lc-otel-fake-chat"

    def _answer(self) -> AIMessage:
        scripted = self.responses[self.calls % len(self.responses)]
        self.calls += 1
        if isinstance(scripted, BaseException):
            raise scripted
        metadata: dict[str, Any] = {"finish_reason": "tool_calls" if scripted.tool_calls else "stop"}
        if self.answered_model:
            metadata["model_name"] = self.answered_model
        if self.response_id:
            metadata["id"] = self.response_id
        metadata.update(scripted.response_metadata)
        return scripted.model_copy(update={"response_metadata": metadata})

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
        # On the event loop, not in a thread as BaseChatModel would: many concurrent calls stay cheap.
        if self.delay:
            await asyncio.sleep(self.delay)
        return self._generate(messages, stop, **kwargs)

    def _chunks(self) -> Iterator[ChatGenerationChunk]:
        message = self._answer()
        text = str(message.content)
        pieces = _WORDS.split(text) if self.chunk_by == "word" else text
        for piece in pieces:
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
            if run_manager is not None:  # as provider integrations do when LangChain hands them the manager
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

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> FakeChatModel:
        """Accept any tools: the scripted replies decide which ones are called."""
        return self

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> LangSmithParams:
        params = super()._get_ls_params(stop=stop, **kwargs)
        params["ls_provider"] = self.provider
        return params


__all__ = ["FakeChatModel", "reply", "usage"]

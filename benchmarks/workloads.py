"""The measured workloads, built on lc_otel.testing's fake chat model.

Each workload runs ``n`` invocations with a given ``RunnableConfig`` (which carries the callbacks under test).
An invocation is one ``invoke``/``stream`` of the chain, or one of the concurrent ``ainvoke`` calls.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable
from operator import itemgetter
from typing import Any, Final

from langchain_core.documents import Document
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import Runnable, RunnableConfig, RunnableLambda, RunnableParallel
from langchain_core.tools import tool

from lc_otel.testing import FakeChatModel, reply

STREAM_TOKENS: Final = 200
"""``on_llm_new_token`` events per streamed invocation: 199 one-character chunks and the usage chunk."""
LONG_STREAM_TOKENS: Final = 1000
"""The same for ``stream-long``: the slope between the two streams is the cost of one more token."""
CONCURRENCY: Final = 500
"""``ainvoke`` calls in flight at once in the concurrent workload."""

_MODEL: Final = "bench-model-1"


def _model(tokens: int = STREAM_TOKENS) -> FakeChatModel:
    """lc_otel.testing's fake chat model, answering the way a provider integration does.

    Replies carry usage, the response model and a finish reason (so the tracer's response path does real
    work), the async path answers on the event loop instead of hopping to a thread (so 500 concurrent calls
    measure callbacks, not a thread pool), and a stream sends one chunk per character and ends with a usage
    chunk, like ``stream_usage=True``.
    """
    answer = reply("x" * (tokens - 1), input_tokens=12, output_tokens=STREAM_TOKENS)
    return FakeChatModel(responses=[answer], model=_MODEL, response_id=None, chunk_by="character")


def _prompt() -> ChatPromptTemplate:
    return ChatPromptTemplate.from_messages(
        [("system", "Answer from the context.\n{context}"), ("human", "{question}")]
    )


def simple_chain(tokens: int = STREAM_TOKENS) -> Runnable[dict[str, Any], str]:
    """Prompt, model, parser: four runs; the model's answer streams as ``tokens`` chunks."""
    return _prompt() | _model(tokens) | StrOutputParser()


def _retrieve(question: str) -> list[Document]:
    return [Document(page_content=f"fact {i} about {question}", metadata={"id": i}) for i in range(3)]


def _format(documents: list[Document]) -> str:
    return "\n".join(d.page_content for d in documents)


@tool
def lookup(question: str) -> str:
    """Look a fact up."""
    return f"known: {question}"


def nested_chain() -> Runnable[dict[str, Any], str]:
    """Ten runs: a sequence over a parallel branch (a retriever-like lambda pipeline, a tool, a getter),
    then prompt, model and parser.
    """
    question = itemgetter("question")
    context = RunnableLambda(lambda x: x["question"]) | RunnableLambda(_retrieve) | RunnableLambda(_format)
    branch = RunnableParallel(context=context, facts=lookup, question=question)
    return (branch | _prompt() | _model() | StrOutputParser()).with_config(run_name="nested")


_INPUT: Final = {"question": "what is tracing?", "context": "spans"}


@dataclasses.dataclass(frozen=True)
class Workload:
    """A chain and the way it is driven: ``run(config, n)`` performs ``n`` invocations."""

    name: str
    description: str
    run: Callable[[RunnableConfig, int], None]


def _invoke(chain: Runnable[dict[str, Any], str]) -> Callable[[RunnableConfig, int], None]:
    def run(config: RunnableConfig, n: int) -> None:
        for _ in range(n):
            chain.invoke(_INPUT, config)

    return run


def _stream(chain: Runnable[dict[str, Any], str]) -> Callable[[RunnableConfig, int], None]:
    def run(config: RunnableConfig, n: int) -> None:
        for _ in range(n):
            for _chunk in chain.stream(_INPUT, config):
                pass

    return run


def _concurrent(chain: Runnable[dict[str, Any], str]) -> Callable[[RunnableConfig, int], None]:
    async def batch(config: RunnableConfig, size: int) -> None:
        await asyncio.gather(*(chain.ainvoke(_INPUT, config) for _ in range(size)))

    def run(config: RunnableConfig, n: int) -> None:
        # One event loop for all batches, like a server; n counts ainvoke calls, CONCURRENCY at a time.
        async def main() -> None:
            done = 0
            while done < n:
                size = min(CONCURRENCY, n - done)
                await batch(config, size)
                done += size

        asyncio.run(main())

    return run


WORKLOADS: Final = {
    w.name: w
    for w in (
        Workload("simple", "prompt | model | parser, invoke", _invoke(simple_chain())),
        Workload(
            "nested",
            "10 runs: parallel(lambda pipeline, tool, getter) | prompt | model | parser",
            _invoke(nested_chain()),
        ),
        Workload("stream", f"prompt | model | parser, stream of {STREAM_TOKENS} tokens", _stream(simple_chain())),
        Workload(
            "stream-long",
            f"the same, stream of {LONG_STREAM_TOKENS} tokens",
            _stream(simple_chain(LONG_STREAM_TOKENS)),
        ),
        Workload("concurrent", f"simple chain, {CONCURRENCY} concurrent ainvoke", _concurrent(simple_chain())),
    )
}
"""The workloads by name, in report order."""

"""Trace a small offline LangChain chain and print its spans as a tree.

Run it with ``make demo`` (or ``python examples/quickstart.py``). No backend and no API key needed: the model
is LangChain's own fake chat model, and the spans are kept in memory and printed.
"""

from __future__ import annotations

from langchain_core.language_models.fake_chat_models import FakeListChatModel
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from lc_otel import OpenTelemetryCallbackHandler


def print_tree(spans: tuple[ReadableSpan, ...]) -> None:
    """Print spans indented under their parents, with durations and tags."""
    children: dict[int | None, list[ReadableSpan]] = {}
    for span in sorted(spans, key=lambda s: s.start_time or 0):
        children.setdefault(span.parent.span_id if span.parent else None, []).append(span)

    def show(span: ReadableSpan, depth: int) -> None:
        duration_ms = ((span.end_time or 0) - (span.start_time or 0)) / 1e6
        tags = (span.attributes or {}).get("langchain.tags", ())
        print(f"{'  ' * depth}{span.name}  {duration_ms:.2f} ms  tags={list(tags)}")  # type: ignore[arg-type]
        for child in children.get(span.context.span_id if span.context else None, []):
            show(child, depth + 1)

    for root in children.get(None, []):
        show(root, 0)


def main() -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    handler = OpenTelemetryCallbackHandler(provider)

    prompt = ChatPromptTemplate.from_messages([("system", "Answer briefly."), ("human", "{question}")])
    model = FakeListChatModel(responses=["Seoul."], callbacks=[handler])  # constructor callback
    chain = prompt | model | StrOutputParser()

    # request callback: traces the whole chain, tags and metadata become span attributes
    answer = chain.invoke(
        {"question": "Capital of Korea?"},
        {"callbacks": [handler], "tags": ["production"], "metadata": {"user_id": "u-42"}},
    )
    print(f"answer: {answer}\n")
    print_tree(exporter.get_finished_spans())


if __name__ == "__main__":
    main()

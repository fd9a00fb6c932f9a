"""Tool calls and retrievals under the names GenAI consumers read (Jaeger's "Tool Call" section, Phoenix)."""

from __future__ import annotations

import json
from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from langchain_core.messages import ToolCall
from langchain_core.retrievers import BaseRetriever, LangSmithRetrieverParams
from langchain_core.tools import tool
from langchain_core.vectorstores import VectorStore
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from lc_otel import OpenTelemetryCallbackHandler


@tool
def lookup_order(order_id: str, verbose: bool = False) -> dict[str, Any]:
    """Look an order up."""
    return {"order_id": order_id, "status": "shipped", "verbose": verbose}


@tool
def shout(text: str) -> str:
    """Shout."""
    return text.upper() + "!"


def only_span(exporter: InMemorySpanExporter) -> ReadableSpan:
    (span,) = exporter.get_finished_spans()
    return span


def attributes(span: ReadableSpan) -> dict[str, Any]:
    return dict(span.attributes or {})


# --- 7. tool arguments and result ---------------------------------------------------------------------------


def test_a_tool_call_has_its_arguments_result_and_call_id(
    capturing: OpenTelemetryCallbackHandler, exporter: InMemorySpanExporter
) -> None:
    call = ToolCall(name="lookup_order", args={"order_id": "4711", "verbose": True}, id="call-7", type="tool_call")
    message = lookup_order.invoke(call, {"callbacks": [capturing]})
    assert message.tool_call_id == "call-7"

    found = attributes(only_span(exporter))
    assert found["gen_ai.tool.name"] == "lookup_order"
    assert found["gen_ai.tool.call.id"] == "call-7"
    assert json.loads(str(found["gen_ai.tool.call.arguments"])) == {"order_id": "4711", "verbose": True}
    assert json.loads(str(found["gen_ai.tool.call.result"])) == {
        "order_id": "4711",
        "status": "shipped",
        "verbose": True,
    }


def test_a_text_tool_keeps_text_arguments_and_result(
    capturing: OpenTelemetryCallbackHandler, exporter: InMemorySpanExporter
) -> None:
    assert shout.invoke("hello", {"callbacks": [capturing]}) == "HELLO!"

    found = attributes(only_span(exporter))
    assert found["gen_ai.tool.call.arguments"] == "hello"
    assert found["gen_ai.tool.call.result"] == "HELLO!"
    assert "gen_ai.tool.call.id" not in found  # called directly, not by a model: there is no call id


def test_tool_arguments_and_results_are_content(
    handler: OpenTelemetryCallbackHandler, exporter: InMemorySpanExporter
) -> None:
    call = ToolCall(name="lookup_order", args={"order_id": "4711"}, id="call-8", type="tool_call")
    lookup_order.invoke(call, {"callbacks": [handler]})

    found = attributes(only_span(exporter))
    assert found["gen_ai.tool.call.id"] == "call-8"  # not content: always there
    assert "gen_ai.tool.call.arguments" not in found
    assert "gen_ai.tool.call.result" not in found


# --- 10. retrieval ------------------------------------------------------------------------------------------


class ScoredRetriever(BaseRetriever):
    """A retriever that reports its store and embedding model, and scores its documents."""

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
        return [
            Document(id="doc-1", page_content=f"{query}: first", metadata={"score": 0.91, "source": "a.md"}),
            Document(id="doc-2", page_content=f"{query}: second", metadata={"relevance_score": 0.5}),
            Document(page_content="no id, no score"),
        ]

    def _get_ls_params(self, **kwargs: Any) -> LangSmithRetrieverParams:
        params = super()._get_ls_params(**kwargs)
        params["ls_vector_store_provider"] = "pgvector"
        params["ls_embedding_model"] = "text-embedding-3-small"
        return params


def test_retrieval_query_documents_provider_and_model(
    capturing: OpenTelemetryCallbackHandler, exporter: InMemorySpanExporter
) -> None:
    ScoredRetriever().invoke("refunds", {"callbacks": [capturing]})

    span = only_span(exporter)
    assert span.name == "retrieval ScoredRetriever"
    found = attributes(span)
    assert found["gen_ai.operation.name"] == "retrieval"
    assert found["gen_ai.provider.name"] == "pgvector"
    assert found["gen_ai.request.model"] == "text-embedding-3-small"
    assert found["gen_ai.retrieval.query.text"] == "refunds"
    assert json.loads(str(found["gen_ai.retrieval.documents"])) == [
        {"id": "doc-1", "score": 0.91, "content": "refunds: first", "metadata": {"score": 0.91, "source": "a.md"}},
        {"id": "doc-2", "score": 0.5, "content": "refunds: second", "metadata": {"relevance_score": 0.5}},
        {"content": "no id, no score"},
    ]
    assert found["langchain.retriever.document_count"] == 3


def test_retrieval_provider_is_there_without_capture_and_content_is_not(
    handler: OpenTelemetryCallbackHandler, exporter: InMemorySpanExporter
) -> None:
    ScoredRetriever().invoke("refunds", {"callbacks": [handler]})

    found = attributes(only_span(exporter))
    assert found["gen_ai.provider.name"] == "pgvector"
    assert found["gen_ai.request.model"] == "text-embedding-3-small"
    assert "gen_ai.retrieval.query.text" not in found
    assert "gen_ai.retrieval.documents" not in found


class LetterEmbeddings(Embeddings):
    """Embeds a text by its first letter (the store below ranks by it)."""

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [self.embed_query(text) for text in texts]

    def embed_query(self, text: str) -> list[float]:
        return [float(ord(text[:1] or " "))]


class LetterStore(VectorStore):
    """A vector store without numpy: finds the documents that start with the query's first letter."""

    def __init__(self, documents: list[Document]) -> None:
        self.documents = documents

    @property
    def embeddings(self) -> Embeddings:
        return LetterEmbeddings()

    def similarity_search(self, query: str, k: int = 4, **kwargs: Any) -> list[Document]:
        return [d for d in self.documents if d.page_content[:1] == query[:1]][:k]

    @classmethod
    def from_texts(cls, texts: list[str], embedding: Embeddings, metadatas: Any = None, **kwargs: Any) -> LetterStore:
        return cls([Document(page_content=text) for text in texts])


def test_a_vector_store_retriever_names_its_store(
    capturing: OpenTelemetryCallbackHandler, exporter: InMemorySpanExporter
) -> None:
    store = LetterStore([Document(id="a", page_content="apples"), Document(id="b", page_content="bananas")])
    store.as_retriever(search_kwargs={"k": 1}).invoke("apples", {"callbacks": [capturing]})

    found = attributes(only_span(exporter))
    assert found["gen_ai.provider.name"] == "LetterStore"
    (document,) = json.loads(str(found["gen_ai.retrieval.documents"]))
    assert document == {"id": "a", "content": "apples"}

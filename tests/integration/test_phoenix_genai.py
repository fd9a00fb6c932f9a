"""Phoenix reads lc-otel's GenAI spans: what its own converter derives from them on ingestion.

Phoenix 20.x turns the GenAI semantic-convention attributes into its OpenInference model when it stores a
span (``phoenix/trace/gen_ai/conversion.py``). A chat + tools + retriever + agent app is traced with content
capture on and exported to the real Phoenix; the spans read back through its REST API say what Phoenix made
of them: span kinds, token counts, messages, tool calls, documents. ``lc-otel replay`` is checked against the
same Phoenix, over gRPC and HTTP.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from langchain.agents import create_agent
from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.messages import HumanMessage
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables import RunnableConfig
from langchain_core.tools import tool
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from lc_otel import OpenTelemetryCallbackHandler
from lc_otel._export.file import file_exporter
from lc_otel._settings import Settings
from lc_otel.cli import main
from lc_otel.testing import FakeChatModel, reply
from tests.integration.conftest import Phoenix

pytestmark = pytest.mark.integration

APP_SPANS = 8  # invoke_agent, 2 x (model, chat), tools, execute_tool, retrieval: see run_app


class Handbook(BaseRetriever):
    """The support handbook: scored documents with ids, as a vector store returns them."""

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
        return [
            Document(id="h-1", page_content="Refunds take 5 days.", metadata={"score": 0.8}),
            Document(id="h-2", page_content="Returns are free.", metadata={"score": 0.4}),
        ]


@tool
def search_handbook(query: str, config: RunnableConfig) -> str:
    """Search the support handbook."""
    return "\n".join(document.page_content for document in Handbook().invoke(query, config))


def run_app(provider: TracerProvider, marker: str) -> None:
    """A support agent: one model call asks for the handbook tool, which retrieves; a second one answers."""
    handler = OpenTelemetryCallbackHandler(provider, settings=Settings(capture_content=True))
    model = FakeChatModel(
        responses=[
            reply(
                "",
                input_tokens=40,
                output_tokens=9,
                cache_read=30,
                cache_write=6,
                tool_calls=[{"name": "search_handbook", "args": {"query": "refunds"}, "id": "call-1"}],
            ),
            reply("Refunds take 5 days.", input_tokens=60, output_tokens=7),
        ],
        provider="openai",
    )
    agent = create_agent(model, tools=[search_handbook], name="support", system_prompt="Be brief.")
    agent.invoke(
        {"messages": [HumanMessage("How long do refunds take?")]},
        {"callbacks": [handler], "metadata": {"test_marker": marker}},
    )


def by_name(spans: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for span in sorted(spans, key=lambda s: s["start_time"]):
        found.setdefault(span["name"], []).append(span)
    return found


def openinference(span: dict[str, Any]) -> dict[str, Any]:
    """The attributes Phoenix derived (its own namespaces), without lc-otel's and the conventions' originals."""
    return {k: v for k, v in span["attributes"].items() if not k.startswith(("gen_ai.", "langchain.", "langgraph."))}


def test_phoenix_derives_kinds_tokens_messages_tools_and_documents(phoenix: Phoenix) -> None:
    marker = uuid.uuid4().hex
    provider = TracerProvider(resource=Resource.create({"service.name": "lc-otel-phoenix-genai"}))
    provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(endpoint=f"{phoenix.base_url}/v1/traces")))
    run_app(provider, marker)
    provider.shutdown()

    spans = phoenix.wait_for(APP_SPANS, **{"langchain.metadata.test_marker": marker})
    assert len(spans) == APP_SPANS
    named = by_name(spans)
    assert {name: [s["span_kind"] for s in group] for name, group in named.items()} == {
        "invoke_agent support": ["AGENT"],
        "model": ["UNKNOWN", "UNKNOWN"],
        "chat fake-model-1": ["LLM", "LLM"],
        "tools": ["UNKNOWN"],
        "execute_tool search_handbook": ["TOOL"],
        "retrieval Handbook": ["RETRIEVER"],
    }

    asks, answers = (openinference(s) for s in named["chat fake-model-1"])
    assert asks == {
        "llm.provider": "openai",
        "llm.system": "openai",
        "llm.model_name": "fake-model-1",
        "llm.token_count.prompt": 40,
        "llm.token_count.completion": 9,
        "llm.token_count.total": 49,
        "llm.token_count.prompt_details.cache_read": 30,
        "llm.token_count.prompt_details.cache_write": 6,
        "llm.input_messages.0.message.role": "system",
        "llm.input_messages.0.message.content": "Be brief.",
        "llm.input_messages.1.message.role": "user",
        "llm.input_messages.1.message.content": "How long do refunds take?",
        "llm.output_messages.0.message.role": "assistant",
        "llm.output_messages.0.message.finish_reason": "tool_calls",
        "llm.output_messages.0.message.tool_calls.0.tool_call.id": "call-1",
        "llm.output_messages.0.message.tool_calls.0.tool_call.function.name": "search_handbook",
        "llm.output_messages.0.message.tool_calls.0.tool_call.function.arguments": '{"query": "refunds"}',
        "llm.finish_reason": "tool_calls",
        "output.value": '{"id": "resp-1", "model": "fake-model-1"}',
        "output.mime_type": "application/json",
    }
    assert answers["llm.token_count.prompt"] == 60
    assert answers["llm.token_count.completion"] == 7
    assert answers["llm.input_messages.3.message.role"] == "tool"
    assert answers["llm.input_messages.3.message.tool_call_id"] == "call-1"
    assert answers["llm.input_messages.3.message.content"] == "Refunds take 5 days.\nReturns are free."
    assert answers["llm.output_messages.0.message.content"] == "Refunds take 5 days."
    assert answers["llm.output_messages.0.message.finish_reason"] == "stop"

    (tool_span,) = named["execute_tool search_handbook"]
    assert openinference(tool_span) == {
        "tool.name": "search_handbook",
        "tool.description": "Search the support handbook.",
        "tool.id": "call-1",
        "tool.parameters.query": "refunds",
        "output.value": "Refunds take 5 days.\nReturns are free.",
    }

    (retrieval,) = named["retrieval Handbook"]
    derived = openinference(retrieval)
    assert derived["input.value"] == "refunds"
    assert [
        (derived[f"retrieval.documents.{i}.document.id"], derived[f"retrieval.documents.{i}.document.score"])
        for i in range(2)
    ] == [("h-1", 0.8), ("h-2", 0.4)]
    assert derived["retrieval.documents.0.document.content"] == "Refunds take 5 days."

    (agent,) = named["invoke_agent support"]
    assert openinference(agent) == {
        "llm.input_messages.0.message.role": "user",
        "llm.input_messages.0.message.content": "How long do refunds take?",
        "llm.output_messages.0.message.role": "assistant",
        "llm.output_messages.0.message.name": "support",
        "llm.output_messages.0.message.content": "Refunds take 5 days.",
        "llm.output_messages.0.message.finish_reason": "stop",
    }
    # The parent chain Phoenix keeps is LangChain's: create_agent's tool node hands the tool its own config,
    # so the retrieval is the tool's sibling under the node.
    ids = {s["context"]["span_id"]: s["name"] for s in spans}
    assert ids[retrieval["parent_id"]] == ids[tool_span["parent_id"]] == "tools"
    assert agent["parent_id"] is None


@pytest.mark.parametrize("protocol", ["grpc", "http/protobuf"])
def test_replay_sends_a_recorded_file_to_phoenix(
    protocol: str, phoenix: Phoenix, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    marker = uuid.uuid4().hex
    recorded = tmp_path / "spans.jsonl"
    exporter = file_exporter(recorded)
    assert exporter is not None
    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "lc-otel-replayed"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    provider.add_span_processor(SimpleSpanProcessor(memory))
    run_app(provider, marker)
    provider.shutdown()
    assert not phoenix.spans(**{"langchain.metadata.test_marker": marker})  # recorded offline: nothing sent yet

    endpoint = phoenix.grpc_endpoint if protocol == "grpc" else phoenix.base_url
    assert main(["replay", str(recorded), "--endpoint", endpoint, "--protocol", protocol]) == 0
    assert f"sent {APP_SPANS} spans" in capsys.readouterr().err

    spans = phoenix.wait_for(APP_SPANS, **{"langchain.metadata.test_marker": marker})
    recorded_spans = {format(s.context.span_id, "016x"): s for s in memory.get_finished_spans() if s.context}
    assert {s["context"]["span_id"] for s in spans} == set(recorded_spans)
    for span in spans:
        original = recorded_spans[span["context"]["span_id"]]
        assert span["name"] == original.name
        assert span["parent_id"] == (format(original.parent.span_id, "016x") if original.parent else None)
        assert span["context"]["trace_id"] == format(original.context.trace_id, "032x")
    assert {s["name"]: s["span_kind"] for s in spans}["retrieval Handbook"] == "RETRIEVER"

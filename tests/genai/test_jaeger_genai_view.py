"""Every kind of span lc-otel makes, as the Jaeger UI's GenAI view classifies it and its GenAI tab shows it.

The oracle (``tests/genai/jaeger_ui.py``) models jaeger-ui's ``detect.ts`` and ``genAiData.ts``; it is first
checked against Jaeger's own GenAI test trace, then applied to an app with a model, tools, an agent, a
retriever, a text LLM, a workflow and plain chains, with content capture on.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from langchain.agents import create_agent
from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.language_models.fake import FakeListLLM
from langchain_core.messages import HumanMessage
from langchain_core.retrievers import BaseRetriever, LangSmithRetrieverParams
from langchain_core.runnables import RunnableLambda
from langchain_core.tools import tool
from langgraph.graph import END, START, StateGraph
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from typing_extensions import TypedDict

from lc_otel import OpenTelemetryCallbackHandler
from lc_otel._settings import Settings
from lc_otel.testing import FakeChatModel, reply
from tests.genai.jaeger_ui import classify, genai_tab

FIXTURE = Path(__file__).parents[1] / "fixtures" / "jaeger" / "genaiTestTrace.json"


def test_the_oracle_reads_jaegers_own_genai_trace_as_the_ui_does() -> None:
    trace = json.loads(FIXTURE.read_text())
    kinds: dict[str, set[str]] = {}
    for span in trace["spans"]:
        attributes = {tag["key"]: tag["value"] for tag in span["tags"]}
        kinds.setdefault(span["operationName"].split(" ")[0], set()).add(classify(attributes))
    assert kinds["chat"] == {"LLM_CALL"}
    assert kinds["execute_tool"] == {"TOOL_CALL"}
    assert kinds["invoke_agent"] == {"AGENT"}
    assert kinds["retrieval"] == {"RETRIEVAL"}
    assert kinds["GET"] == kinds["SELECT"] == {"STANDARD"}


@tool
def add_one(a: int) -> int:
    """Add one to a number."""
    return a + 1


class Handbook(BaseRetriever):
    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
        return [Document(id="h-1", page_content="Refunds take 5 days.", metadata={"score": 0.8})]

    def _get_ls_params(self, **kwargs: Any) -> LangSmithRetrieverParams:
        params = super()._get_ls_params(**kwargs)
        params["ls_vector_store_provider"] = "handbook-store"
        return params


class Count(TypedDict):
    n: int


def run_app(handler: OpenTelemetryCallbackHandler) -> list[ReadableSpan]:
    config: Any = {"callbacks": [handler]}
    model = FakeChatModel(
        responses=[
            reply(
                "",
                input_tokens=40,
                output_tokens=9,
                cache_read=30,
                cache_write=6,
                reasoning=4,
                tool_calls=[{"name": "add_one", "args": {"a": 1}, "id": "call-1"}],
            ),
            reply("The answer is 2", input_tokens=55, output_tokens=5),
        ],
        response_model="fake-model-1-2025-01-01",
    )
    create_agent(model, tools=[add_one], name="adder", system_prompt="Be exact.").invoke(
        {"messages": [HumanMessage("1+1?")]}, config
    )
    Handbook().invoke("refunds", config)
    FakeListLLM(responses=["ok"]).invoke("say ok", config)
    builder = StateGraph(Count)
    builder.add_node("double", lambda state: {"n": state["n"] * 2})
    builder.add_edge(START, "double")
    builder.add_edge("double", END)
    builder.compile(name="doubler").invoke({"n": 2}, config)
    RunnableLambda(lambda x: x, name="passthrough").invoke(1, config)
    return list(handler_spans(handler))


_EXPORTERS: dict[int, InMemorySpanExporter] = {}


def handler_spans(handler: OpenTelemetryCallbackHandler) -> tuple[ReadableSpan, ...]:
    return _EXPORTERS[id(handler)].get_finished_spans()


def make_handler(
    provider: TracerProvider, exporter: InMemorySpanExporter, **settings: Any
) -> OpenTelemetryCallbackHandler:
    handler = OpenTelemetryCallbackHandler(provider, settings=Settings(**settings))
    _EXPORTERS[id(handler)] = exporter
    return handler


def by_kind(spans: list[ReadableSpan]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for span in spans:
        found.setdefault(classify(dict(span.attributes or {})), []).append(span.name)
    return {kind: sorted(names) for kind, names in found.items()}


def test_every_span_type_is_classified_as_the_genai_view_expects(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    spans = run_app(make_handler(provider, exporter, capture_content=True))

    assert by_kind(spans) == {
        "LLM_CALL": ["chat fake-model-1", "chat fake-model-1", "text_completion"],
        "TOOL_CALL": ["execute_tool add_one"],
        "AGENT": ["invoke_agent adder", "invoke_workflow doubler"],
        "RETRIEVAL": ["retrieval Handbook"],
        # Graph nodes and plain runnables carry no gen_ai.* attribute: the UI draws them as ordinary spans.
        "STANDARD": ["double", "model", "model", "passthrough", "tools"],
    }


def tabs(spans: list[ReadableSpan], name: str) -> list[Any]:
    return [
        genai_tab(dict(s.attributes or {})) for s in sorted(spans, key=lambda s: s.start_time or 0) if s.name == name
    ]


def test_the_genai_tab_shows_models_usage_messages_tools_and_agents(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    spans = run_app(make_handler(provider, exporter, capture_content=True))

    first, second = tabs(spans, "chat fake-model-1")
    assert (first.provider, first.model) == ("fake", "fake-model-1-2025-01-01")
    assert first.usage == {"input": 40, "output": 9, "cache_read": 30, "cache_creation": 6, "reasoning": 4}
    assert first.system_instructions == "Be exact."
    assert first.input_messages == [("user", "1+1?")]
    assert first.output_messages == [("assistant", '→ add_one({"a":1})')]
    assert second.usage == {"input": 55, "output": 5, "cache_read": None, "cache_creation": None, "reasoning": None}
    assert second.input_messages == [("user", "1+1?"), ("assistant", '→ add_one({"a":1})'), ("tool", "← 2")]
    assert second.output_messages == [("assistant", "The answer is 2")]
    assert first.other["gen_ai.agent.name"] == second.other["gen_ai.agent.name"] == "adder"

    (tool_tab,) = tabs(spans, "execute_tool add_one")
    assert tool_tab.tool_call == {"id": "call-1", "name": "add_one", "arguments": '{"a":1}', "result": "2"}
    assert tool_tab.other["gen_ai.agent.name"] == "adder"

    (agent,) = tabs(spans, "invoke_agent adder")
    assert agent.other["gen_ai.agent.name"] == "adder"
    assert agent.input_messages == [("user", "1+1?")]
    assert agent.output_messages == [("assistant", "The answer is 2")]

    (workflow,) = tabs(spans, "invoke_workflow doubler")
    assert workflow.other == {"gen_ai.operation.name": "invoke_workflow", "gen_ai.workflow.name": "doubler"}

    (retrieval,) = tabs(spans, "retrieval Handbook")
    assert retrieval.provider == "handbook-store"
    assert retrieval.other["gen_ai.retrieval.query.text"] == "refunds"

    (completion,) = tabs(spans, "text_completion")
    assert completion.input_messages == [("user", "say ok")]
    assert completion.output_messages == [("assistant", "ok")]


def test_cut_content_stays_readable_json(provider: TracerProvider, exporter: InMemorySpanExporter) -> None:
    spans = run_app(make_handler(provider, exporter, capture_content=True, max_content_length=120))

    first, _ = tabs(spans, "chat fake-model-1")
    (agent,) = tabs(spans, "invoke_agent adder")
    for span in spans:
        for key, value in (span.attributes or {}).items():
            if key in {"gen_ai.input.messages", "gen_ai.output.messages", "gen_ai.tool.definitions"}:
                assert len(str(value)) <= 120
                json.loads(str(value))  # the UI parses it: a cut never breaks the JSON
    assert first.input_messages == [("user", "1+1?")]
    assert agent.output_messages == [("assistant", "The answer is 2")]


def test_without_capture_the_tab_still_shows_models_usage_and_tools(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    spans = run_app(make_handler(provider, exporter))

    first, _ = tabs(spans, "chat fake-model-1")
    assert (first.provider, first.model) == ("fake", "fake-model-1-2025-01-01")
    assert first.usage["cache_creation"] == 6
    assert first.input_messages == first.output_messages == []
    (tool_tab,) = tabs(spans, "execute_tool add_one")
    assert tool_tab.tool_call == {"id": "call-1", "name": "add_one", "arguments": None, "result": None}

"""The GenAI metrics of a known application: exact counts, sums and attributes per operation."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest
from langchain.agents import create_agent
from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.language_models.fake import FakeListLLM
from langchain_core.messages import HumanMessage
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.retrievers import BaseRetriever
from langchain_core.tools import tool
from opentelemetry._logs import _internal as logs_api
from opentelemetry.metrics import MeterProvider as MeterProviderAPI
from opentelemetry.metrics import NoOpMeterProvider
from opentelemetry.metrics import _internal as metrics_api
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from lc_otel import OpenTelemetryCallbackHandler
from lc_otel._settings import Settings
from lc_otel.testing import FakeChatModel, reply
from tests.metrics.points import histogram_points, point, units

DURATION = "gen_ai.client.operation.duration"
TOKENS = "gen_ai.client.token.usage"
FIRST_CHUNK = "gen_ai.client.operation.time_to_first_chunk"
PER_CHUNK = "gen_ai.client.operation.time_per_output_chunk"
DURATION_BOUNDS = (0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92)
TOKEN_BOUNDS = tuple(float(4**i) for i in range(14))
CHAT = {
    "gen_ai.operation.name": "chat",
    "gen_ai.provider.name": "fake",
    "gen_ai.request.model": "fake-model-1",
    "gen_ai.response.model": "fake-model-1",
}


@tool
def add_one(a: int) -> int:
    """Add one to a number."""
    return a + 1


@tool
def explode(a: int) -> int:
    """Always fails."""
    raise ValueError("no luck")


class Shelf(BaseRetriever):
    """Two fixed documents."""

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
        return [Document(page_content="one"), Document(page_content="two")]


def test_tokens_per_type_and_one_duration_per_chat_call(
    metered: OpenTelemetryCallbackHandler, reader: InMemoryMetricReader
) -> None:
    model = FakeChatModel(responses=[reply(input_tokens=7, output_tokens=3), reply(input_tokens=11, output_tokens=5)])
    chain = ChatPromptTemplate.from_messages([("human", "{q}")]) | model | StrOutputParser()
    chain.invoke({"q": "a"}, {"callbacks": [metered]})
    chain.invoke({"q": "b"}, {"callbacks": [metered]})

    points = histogram_points(reader)
    assert set(points) == {DURATION, TOKENS}  # no streaming figures for calls that did not stream
    assert units(reader) == {DURATION: "s", TOKENS: "{token}"}
    tokens_in = point(points, TOKENS, gen_ai__token__type="input")
    tokens_out = point(points, TOKENS, gen_ai__token__type="output")
    assert tokens_in.attributes == {**CHAT, "gen_ai.token.type": "input"}
    assert (tokens_in.count, tokens_in.sum) == (2, 18)
    assert (tokens_out.count, tokens_out.sum) == (2, 8)
    assert tokens_in.bounds == TOKEN_BOUNDS
    # 7 and 11 fall in (4, 16], 3 and 5 in (1, 4] and (4, 16].
    assert tokens_in.bucket_counts[:4] == (0, 0, 2, 0)
    assert tokens_out.bucket_counts[:4] == (0, 1, 1, 0)
    (duration,) = points[DURATION]  # the prompt, the parser and the chain are no GenAI operations
    assert duration.attributes == CHAT
    assert duration.count == 2
    assert duration.bounds == DURATION_BOUNDS
    assert 0 < duration.sum < 10


def test_tools_retrievers_llms_and_errors_each_get_their_duration(
    metered: OpenTelemetryCallbackHandler, reader: InMemoryMetricReader
) -> None:
    add_one.invoke({"a": 1}, {"callbacks": [metered]})
    add_one.invoke({"a": 2}, {"callbacks": [metered]})
    with pytest.raises(ValueError, match="no luck"):
        explode.invoke({"a": 1}, {"callbacks": [metered]})
    Shelf().invoke("where?", {"callbacks": [metered]})
    FakeListLLM(responses=["ok"]).invoke("say ok", {"callbacks": [metered]})

    points = histogram_points(reader)
    assert set(points) == {DURATION}  # none of these reported token usage
    ok = point(points, DURATION, gen_ai__tool__name="add_one")
    assert ok.attributes == {"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "add_one"}
    assert ok.count == 2
    failed = point(points, DURATION, gen_ai__tool__name="explode")
    assert failed.attributes == {
        "gen_ai.operation.name": "execute_tool",
        "gen_ai.tool.name": "explode",
        "error.type": "ValueError",
    }
    assert failed.count == 1
    assert point(points, DURATION, gen_ai__operation__name="retrieval").count == 1
    llm = point(points, DURATION, gen_ai__operation__name="text_completion")
    assert llm.count == 1
    assert llm.attributes["gen_ai.operation.name"] == "text_completion"
    assert len(points[DURATION]) == 4


def test_a_failing_model_call_records_its_error_type_and_no_tokens(
    metered: OpenTelemetryCallbackHandler, reader: InMemoryMetricReader
) -> None:
    class Broken(FakeChatModel):
        def _generate(self, *args: object, **kwargs: object):
            raise ConnectionError("down")

    with pytest.raises(ConnectionError):
        Broken(responses=[reply()]).invoke("hi", {"callbacks": [metered]})
    points = histogram_points(reader)
    assert set(points) == {DURATION}
    (duration,) = points[DURATION]
    assert duration.count == 1
    assert duration.attributes == {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "fake",
        "gen_ai.request.model": "fake-model-1",
        "error.type": "ConnectionError",
    }


def test_an_agent_run_measures_the_agent_its_model_calls_and_its_tool(
    metered: OpenTelemetryCallbackHandler, reader: InMemoryMetricReader
) -> None:
    model = FakeChatModel(
        responses=[
            reply("", input_tokens=20, output_tokens=5, tool_calls=[{"name": "add_one", "args": {"a": 1}, "id": "c1"}]),
            reply("The answer is 2", input_tokens=30, output_tokens=6),
        ]
    )
    create_agent(model, tools=[add_one], name="adder").invoke(
        {"messages": [HumanMessage("1+1?")]}, {"callbacks": [metered]}
    )

    points = histogram_points(reader)
    agent = point(points, DURATION, gen_ai__operation__name="invoke_agent")
    assert agent.attributes == {"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "adder"}
    assert agent.count == 1
    chat = point(points, DURATION, gen_ai__operation__name="chat")
    assert chat.attributes == {**CHAT, "gen_ai.agent.name": "adder"}
    assert chat.count == 2
    tool_point = point(points, DURATION, gen_ai__operation__name="execute_tool")
    assert tool_point.attributes == {
        "gen_ai.operation.name": "execute_tool",
        "gen_ai.tool.name": "add_one",
        "gen_ai.agent.name": "adder",
    }
    assert tool_point.count == 1
    assert (
        point(points, TOKENS, gen_ai__token__type="input").sum,
        point(points, TOKENS, gen_ai__token__type="output").sum,
    ) == (50, 11)
    # The agent's duration covers its steps.
    assert agent.sum >= chat.sum + tool_point.sum


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_a_streamed_call_records_time_to_first_chunk_and_per_chunk(
    metered: OpenTelemetryCallbackHandler, reader: InMemoryMetricReader, mode: str
) -> None:
    model = FakeChatModel(responses=[reply("one two three", input_tokens=4, output_tokens=3)])
    if mode == "sync":
        chunks = list(model.stream("hi", {"callbacks": [metered]}))
    else:
        chunks = [chunk async for chunk in model.astream("hi", {"callbacks": [metered]})]
    assert len(chunks) == 6  # five word and space chunks, then the usage chunk

    points = histogram_points(reader)
    assert set(points) == {DURATION, TOKENS, FIRST_CHUNK, PER_CHUNK}
    (first,) = points[FIRST_CHUNK]
    (per_chunk,) = points[PER_CHUNK]
    (duration,) = points[DURATION]
    assert first.attributes == per_chunk.attributes == CHAT
    assert first.count == per_chunk.count == 1
    assert first.bounds == per_chunk.bounds == DURATION_BOUNDS
    # The first chunk came within the call, and the five gaps after it too.
    assert 0 <= first.sum <= duration.sum
    assert 0 <= per_chunk.sum * 5 <= duration.sum - first.sum + 0.05
    assert (
        point(points, TOKENS, gen_ai__token__type="input").sum,
        point(points, TOKENS, gen_ai__token__type="output").sum,
    ) == (4, 3)


def test_no_metric_attribute_carries_content_tags_metadata_or_run_ids(
    provider: TracerProvider,
    exporter: InMemorySpanExporter,
    meter_provider: MeterProvider,
    reader: InMemoryMetricReader,
) -> None:
    handler = OpenTelemetryCallbackHandler(
        provider, settings=Settings(capture_content=True), meter_provider=meter_provider
    )
    model = FakeChatModel(responses=[reply("the secret answer 42")])
    chain = ChatPromptTemplate.from_messages([("system", "be terse"), ("human", "{q}")]) | model
    chain.invoke(
        {"q": "what is the password"},
        {
            "callbacks": [handler],
            "tags": ["production", "user-1234"],
            "metadata": {"tenant": "acme", "thread_id": "t-9"},
        },
    )
    add_one.invoke({"a": 41}, {"callbacks": [handler], "metadata": {"tenant": "acme"}})

    spans = exporter.get_finished_spans()
    run_ids = {span.attributes["langchain.run.id"] for span in spans}
    assert any("password" in str(value) for span in spans for value in (span.attributes or {}).values())
    forbidden = {*run_ids, "acme", "t-9", "production", "user-1234"}
    seen = [p for name_points in histogram_points(reader).values() for p in name_points]
    assert seen
    allowed = {
        "gen_ai.operation.name",
        "gen_ai.provider.name",
        "gen_ai.request.model",
        "gen_ai.response.model",
        "gen_ai.token.type",
        "gen_ai.tool.name",
        "gen_ai.agent.name",
        "server.address",
        "server.port",
        "error.type",
    }
    for found in seen:
        assert set(found.attributes) <= allowed, found.attributes
        for value in found.attributes.values():
            assert value not in forbidden
            for text in ("password", "secret", "terse", "42"):
                assert text not in str(value), found.attributes


def test_chosen_metadata_keys_become_metric_attributes(
    monkeypatch: pytest.MonkeyPatch,
    provider: TracerProvider,
    meter_provider: MeterProvider,
    reader: InMemoryMetricReader,
) -> None:
    monkeypatch.setenv("LC_OTEL_METRICS_METADATA_KEYS", "tenant, tier")
    handler = OpenTelemetryCallbackHandler(provider, settings=Settings(), meter_provider=meter_provider)
    model = FakeChatModel(responses=[reply()])
    model.invoke("hi", {"callbacks": [handler], "metadata": {"tenant": "acme", "user": "u-1"}})
    model.invoke("hi", {"callbacks": [handler], "metadata": {"tenant": "globex", "tier": 2}})

    points = histogram_points(reader)
    acme = point(points, DURATION, langchain__metadata__tenant="acme")
    assert acme.attributes == {**CHAT, "langchain.metadata.tenant": "acme"}  # "user" was not chosen
    globex = point(points, DURATION, langchain__metadata__tenant="globex")
    assert globex.attributes == {**CHAT, "langchain.metadata.tenant": "globex", "langchain.metadata.tier": 2}


def test_server_address_and_port_come_from_the_client_configuration(
    metered: OpenTelemetryCallbackHandler, reader: InMemoryMetricReader
) -> None:
    from langchain_openai import ChatOpenAI

    from tests.support.openai_server import OpenAIServer

    with OpenAIServer() as server:
        port = urlsplit(server.base_url).port
        model = ChatOpenAI(model="gpt-4o-mini", base_url=server.base_url, api_key="sk-test", max_retries=0)
        model.invoke("hi", {"callbacks": [metered]})
    points = histogram_points(reader)
    expected = {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "gpt-4o-mini",
        "gen_ai.response.model": "gpt-test-2025-01-01",
        "server.address": "127.0.0.1",
        "server.port": port,
    }
    (duration,) = points[DURATION]
    assert duration.attributes == expected
    assert point(points, TOKENS, gen_ai__token__type="input").sum == 11


def test_with_a_no_op_meter_provider_nothing_is_measured(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    handler = OpenTelemetryCallbackHandler(provider, settings=Settings(), meter_provider=NoOpMeterProvider())
    assert handler._telemetry is None  # decided once: no per-run work at all
    FakeChatModel(responses=[reply()]).invoke("hi", {"callbacks": [handler]})
    assert len(exporter.get_finished_spans()) == 1


def test_metrics_can_be_switched_off(
    monkeypatch: pytest.MonkeyPatch,
    provider: TracerProvider,
    meter_provider: MeterProvider,
    reader: InMemoryMetricReader,
) -> None:
    monkeypatch.setenv("LC_OTEL_METRICS", "false")
    handler = OpenTelemetryCallbackHandler(provider, settings=Settings(), meter_provider=meter_provider)
    assert handler._telemetry is None
    FakeChatModel(responses=[reply()]).invoke("hi", {"callbacks": [handler]})
    assert histogram_points(reader) == {}


def test_exemplars_point_at_the_measured_run_s_own_span(
    metered: OpenTelemetryCallbackHandler,
    reader: InMemoryMetricReader,
    provider: TracerProvider,
    exporter: InMemorySpanExporter,
) -> None:
    # Inside a request span, under a chain: at the model's end event the current span is the request's (or the
    # chain's), yet an exemplar must lead from the metric to the model call (and the tool call) itself.
    model = FakeChatModel(responses=[reply(input_tokens=7, output_tokens=3)])
    chain = ChatPromptTemplate.from_messages([("human", "{q}")]) | model | StrOutputParser()
    with provider.get_tracer("app").start_as_current_span("request"):
        chain.invoke({"q": "a"}, {"callbacks": [metered]})
        add_one.invoke({"a": 1}, {"callbacks": [metered]})

    spans = {span.name: span for span in exporter.get_finished_spans()}
    chat, tool_call = spans["chat fake-model-1"], spans["execute_tool add_one"]
    data = reader.get_metrics_data()
    assert data is not None
    exemplars: dict[tuple[str, str | None], set[tuple[int, int]]] = {}
    for resource_metrics in data.resource_metrics:
        for scope_metrics in resource_metrics.scope_metrics:
            for metric in scope_metrics.metrics:
                for data_point in metric.data.data_points:
                    key = (metric.name, str((data_point.attributes or {}).get("gen_ai.operation.name")))
                    for exemplar in data_point.exemplars:
                        exemplars.setdefault(key, set()).add((exemplar.trace_id, exemplar.span_id))
    chat_ids = {(chat.context.trace_id, chat.context.span_id)}
    assert exemplars[(DURATION, "chat")] == chat_ids
    assert exemplars[(TOKENS, "chat")] == chat_ids
    assert exemplars[(DURATION, "execute_tool")] == {(tool_call.context.trace_id, tool_call.context.span_id)}


def test_a_handler_waiting_for_a_global_provider_asks_once_per_top_level_run(
    monkeypatch: pytest.MonkeyPatch, provider: TracerProvider
) -> None:
    # No MeterProvider given and the global ones unset: the handler waits for one.
    monkeypatch.setattr(metrics_api, "_METER_PROVIDER", None)
    monkeypatch.setattr(logs_api, "_LOGGER_PROVIDER", None)
    handler = OpenTelemetryCallbackHandler(provider, settings=Settings())
    telemetry = handler._telemetry
    assert telemetry is not None
    assert telemetry.waiting
    assert not telemetry.recording
    asked: list[object] = []
    refresh = type(telemetry).refresh

    def counted(self: object) -> None:
        asked.append(self)
        refresh(telemetry)

    monkeypatch.setattr(type(telemetry), "refresh", counted)
    model = FakeChatModel(responses=[reply()])
    chain = ChatPromptTemplate.from_messages([("human", "{q}")]) | model | StrOutputParser()
    chain.invoke({"q": "a"}, {"callbacks": [handler]})  # four runs: sequence, prompt, model, parser
    chain.invoke({"q": "b"}, {"callbacks": [handler]})
    assert len(asked) == 2


def test_an_api_whose_record_takes_no_context_still_gets_every_point(provider: TracerProvider) -> None:
    # opentelemetry-api before 1.28 has record(amount, attributes): passing the run's context there would be a
    # TypeError at every point. The points must arrive, without the context.
    class OldHistogram:
        def __init__(self) -> None:
            self.points: list[tuple[float, dict[str, Any]]] = []

        def record(self, amount: float, attributes: Any = None) -> None:
            self.points.append((amount, dict(attributes or {})))

    class OldMeter(metrics_api.Meter):  # only create_histogram is called
        def __init__(self) -> None:
            super().__init__("old")
            self.histograms: dict[str, OldHistogram] = {}

        def create_histogram(self, name: str, unit: str = "", description: str = "", **kwargs: Any) -> Any:
            return self.histograms.setdefault(name, OldHistogram())

    OldMeter.__abstractmethods__ = frozenset()

    class OldMeterProvider(MeterProviderAPI):
        def __init__(self) -> None:
            self.meter = OldMeter()  # type: ignore[abstract]  # the abstract methods are never called

        def get_meter(self, *args: Any, **kwargs: Any) -> Any:
            return self.meter

    old = OldMeterProvider()
    handler = OpenTelemetryCallbackHandler(provider, settings=Settings(), meter_provider=old)
    FakeChatModel(responses=[reply(input_tokens=7, output_tokens=3)]).invoke("hi", {"callbacks": [handler]})
    tokens = old.meter.histograms[TOKENS].points
    assert sorted((amount, point["gen_ai.token.type"]) for amount, point in tokens) == [(3, "output"), (7, "input")]
    assert len(old.meter.histograms[DURATION].points) == 1

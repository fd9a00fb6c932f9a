"""The attributes that matter survive: many tags or metadata keys never push lc_otel's own attributes out of the
SDK's attribute limit, and a count no OTLP int can hold is dropped instead of taking the span with it."""

from __future__ import annotations

import logging
from typing import Any
from uuid import uuid4

import pytest
from langchain_core.runnables import RunnableConfig, RunnableLambda
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from lc_otel import OpenTelemetryCallbackHandler
from lc_otel._settings import Settings
from lc_otel.testing import FakeChatModel, find_span, reply
from tests.security.exported import otlp_bytes
from tests.support.raw_usage import RawUsageModel

MODEL_OWN = (
    "langchain.run.id",
    "langchain.run.type",
    "langchain.run.name",
    "gen_ai.operation.name",
    "gen_ai.provider.name",
    "gen_ai.request.model",
    "gen_ai.response.model",
    "gen_ai.usage.input_tokens",
    "gen_ai.usage.output_tokens",
)
"""lc_otel's own attributes on a model span: set at its start and at its end."""
CHAIN_OWN = ("langchain.run.id", "langchain.run.type", "langchain.run.name", "langchain.usage.input_tokens")


def cfg(handler: OpenTelemetryCallbackHandler, **more: Any) -> RunnableConfig:
    return RunnableConfig(callbacks=[handler], **more)  # type: ignore[typeddict-item]


def attributes(span: ReadableSpan) -> dict[str, Any]:
    return dict(span.attributes or {})


def tag_attributes(span: ReadableSpan) -> list[str]:
    return [key for key in attributes(span) if key.startswith("langchain.tag.")]


def metadata_attributes(span: ReadableSpan) -> list[str]:
    return [key for key in attributes(span) if key.startswith("langchain.metadata.")]


@pytest.fixture(name="limited")
def _limited(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, exporter: InMemorySpanExporter
) -> TracerProvider:
    """A provider whose span attribute limit comes from ``OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT`` (the parameter)."""
    limit: int | None = request.param
    if limit is None:
        monkeypatch.delenv("OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", raising=False)
        monkeypatch.delenv("OTEL_ATTRIBUTE_COUNT_LIMIT", raising=False)
    else:
        monkeypatch.setenv("OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", str(limit))
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider


def _run(provider: TracerProvider, tags: list[str], metadata: dict[str, Any]) -> list[ReadableSpan]:
    handler = OpenTelemetryCallbackHandler(provider, settings=Settings())
    model = FakeChatModel(responses=[reply("ok")], model="gpt-test")
    chain = (RunnableLambda(lambda x: x, name="prepare") | model).with_config(run_name="answer")
    chain.invoke("q", cfg(handler, tags=tags, metadata=metadata))
    return list(provider_spans(provider))


def provider_spans(provider: TracerProvider) -> list[ReadableSpan]:
    processor = provider._active_span_processor._span_processors[0]
    assert isinstance(processor, SimpleSpanProcessor)
    exporter = processor.span_exporter
    assert isinstance(exporter, InMemorySpanExporter)
    return list(exporter.get_finished_spans())


@pytest.mark.parametrize("limited", [None, 64, 40], indirect=True, ids=["default-128", "limit-64", "limit-40"])
@pytest.mark.parametrize(
    ("tag_count", "metadata_count"), [(150, 0), (70, 60), (0, 150)], ids=["150-tags", "70-tags-60-keys", "150-keys"]
)
def test_many_tags_or_metadata_keys_never_push_out_lc_otels_own_attributes(
    limited: TracerProvider, tag_count: int, metadata_count: int
) -> None:
    tags = [f"tag-{i}" for i in range(tag_count)]
    metadata: dict[str, Any] = {f"key_{i}": i for i in range(metadata_count)}
    metadata["thread_id"] = "T-1"
    spans = _run(limited, tags, metadata)

    assert sorted(span.name for span in spans) == ["answer", "chat gpt-test", "prepare"]
    chat = find_span(spans, "chat gpt-test")
    found = attributes(chat)
    for key in MODEL_OWN:
        assert key in found, key
    assert found["gen_ai.request.model"] == "gpt-test"
    assert found["gen_ai.usage.input_tokens"] == 7
    assert found["gen_ai.conversation.id"] == "T-1"
    root = find_span(spans, "answer")
    for key in CHAIN_OWN:
        assert key in attributes(root), key
    if tag_count:
        listed = attributes(root)["langchain.tags"]  # in LangChain's order
        assert len(listed) == min(tag_count, 128)
        assert set(listed) <= set(tags)
        first_32 = [f"langchain.tag.{tag}" for tag in listed[:32]]
    for span in spans:
        assert len(tag_attributes(span)) <= 32
        assert len(metadata_attributes(span)) <= 32
        if tag_count:
            # The first 32 tags get attributes; past the SDK's limit the oldest of them go first.
            surviving = tag_attributes(span)
            assert surviving == first_32[len(first_32) - len(surviving) :]
    otlp_bytes(spans)  # the batch encodes


@pytest.mark.parametrize("limited", [None], indirect=True)
def test_under_the_default_limit_nothing_is_dropped_and_the_caps_hold(limited: TracerProvider) -> None:
    spans = _run(limited, [f"tag-{i}" for i in range(150)], {f"key_{i}": i for i in range(150)})
    for span in spans:
        assert span.dropped_attributes == 0
        listed = attributes(span)["langchain.tags"]
        assert len(listed) == 128
        assert tag_attributes(span) == [f"langchain.tag.{tag}" for tag in listed[:32]]
        assert metadata_attributes(span) == [f"langchain.metadata.key_{i}" for i in range(32)]


def test_the_caps_are_settings(provider: TracerProvider, exporter: InMemorySpanExporter) -> None:
    handler = OpenTelemetryCallbackHandler(provider, settings=Settings(max_tag_attributes=2, max_metadata_attributes=1))
    RunnableLambda(lambda x: x, name="step").invoke(
        "q", cfg(handler, tags=["a", "b", "c"], metadata={"x": 1, "y": 2, "langgraph_node": "n"})
    )
    found = attributes(find_span(exporter.get_finished_spans(), "step"))
    assert tag_attributes(find_span(exporter.get_finished_spans(), "step")) == ["langchain.tag.a", "langchain.tag.b"]
    assert found["langchain.tags"] == ("a", "b", "c")
    assert found["langchain.metadata.x"] == 1
    assert "langchain.metadata.y" not in found
    assert found["langgraph.node"] == "n"  # LangGraph's markers are lc_otel's attributes, not the user's


@pytest.mark.parametrize("limited", [None, 40], indirect=True, ids=["default-128", "limit-40"])
def test_ten_thousand_tags_give_a_bounded_number_of_log_records(
    limited: TracerProvider, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    spans = _run(limited, [f"tag-{i}" for i in range(10_000)], {})

    assert len(spans) == 3
    assert len(attributes(find_span(spans, "answer"))["langchain.tags"]) == 128
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    # At most the attributes past the limit, per span: not one per tag (200,000 warnings before).
    assert len(warnings) <= 3 * 32


# --- counts an OTLP int cannot hold -----------------------------------------------------------------------


@pytest.mark.parametrize("bad", [2**63, 2**64 + 1, -5], ids=["2**63", "2**64+1", "negative"])
def test_a_token_count_outside_int64_is_dropped_and_the_span_exported(
    handler: OpenTelemetryCallbackHandler, exporter: InMemorySpanExporter, bad: int
) -> None:
    model = FakeChatModel(responses=[reply("ok", input_tokens=bad, output_tokens=3)])
    RunnableLambda(lambda x: x, name="prepare").pipe(model).invoke("q", cfg(handler))

    spans = exporter.get_finished_spans()
    assert len(spans) == 3
    otlp_bytes(spans)  # an out-of-range int would make the encoder raise (and the exporter drop the span)
    chat = attributes(find_span(spans, "chat fake-model-1"))
    assert chat["gen_ai.usage.output_tokens"] == 3
    assert chat.get("gen_ai.usage.input_tokens") in (None, 0)
    for span in spans:
        for value in attributes(span).values():
            assert not isinstance(value, int) or -(2**63) <= value < 2**63


@pytest.mark.parametrize(
    "token_usage",
    [
        {"prompt_tokens": 2**64, "completion_tokens": 3, "total_tokens": 2**64 + 3},
        {"prompt_tokens": "²", "completion_tokens": "3", "total_tokens": "-1"},
        {"prompt_tokens": "99999999999999999999999", "completion_tokens": 3},
    ],
    ids=["huge", "superscript-and-negative-text", "huge-text"],
)
def test_raw_provider_counts_outside_int64_are_dropped(
    handler: OpenTelemetryCallbackHandler, exporter: InMemorySpanExporter, token_usage: dict[str, Any]
) -> None:
    RawUsageModel(token_usage=token_usage).invoke("q", cfg(handler))

    (span,) = exporter.get_finished_spans()
    otlp_bytes([span])
    found = attributes(span)
    assert found["gen_ai.usage.output_tokens"] == 3
    assert found.get("gen_ai.usage.input_tokens") in (None, 0)


def test_a_subtree_total_past_int64_is_dropped_from_the_chain_span(
    handler: OpenTelemetryCallbackHandler, exporter: InMemorySpanExporter
) -> None:
    model = FakeChatModel(responses=[reply("ok", input_tokens=2**62, output_tokens=3)])
    (model | RunnableLambda(lambda m: m.content, name="parse") | model).invoke("q", cfg(handler))

    spans = exporter.get_finished_spans()
    otlp_bytes(spans)
    root = attributes(find_span(spans, "RunnableSequence"))
    assert "langchain.usage.input_tokens" not in root  # 2**62 + 2**62
    assert root["langchain.usage.output_tokens"] == 6


def test_odd_retry_attempts_are_no_error_and_no_out_of_range_int(
    handler: OpenTelemetryCallbackHandler, exporter: InMemorySpanExporter
) -> None:
    parent = uuid4()
    handler.on_chain_start({}, {}, run_id=parent, name="outer")
    for tag in ("retry:attempt:²", "retry:attempt:99999999999999999999999"):
        child = uuid4()
        handler.on_chain_start({}, {}, run_id=child, parent_run_id=parent, name="inner", tags=[tag])
        handler.on_chain_end({}, run_id=child)

    class _State:
        attempt_number = 2**70
        outcome = None

    handler.on_retry(_State(), run_id=parent)
    handler.on_chain_end({}, run_id=parent)

    spans = exporter.get_finished_spans()
    assert sorted(span.name for span in spans) == ["inner", "inner", "outer"]
    otlp_bytes(spans)
    outer = find_span(spans, "outer")
    assert [dict(event.attributes or {}) for event in outer.events] == [{}]

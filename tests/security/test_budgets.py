"""Every exported string has a cap, and the work to make it is bounded by the cap, not by the input.

The stall rows (a metadata value full of quotes, an input that contains itself, a value shared a billion times
over) get a generous time bound: the defects took 153 s or never returned, the fixed code takes milliseconds.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from langchain_core.runnables import RunnableConfig, RunnableLambda
from langchain_core.tools import StructuredTool
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from lc_otel import OpenTelemetryCallbackHandler
from lc_otel._attributes.redaction import Redactor
from lc_otel._settings import Settings
from lc_otel.testing import FakeChatModel, find_span, reply
from tests.security.exported import otlp_bytes

STALL_BOUND = 5.0
"""Seconds: the defects took minutes or forever; the fixed code takes milliseconds."""
NAME_CAP = 255


def cfg(handler: OpenTelemetryCallbackHandler, **more: Any) -> RunnableConfig:
    return RunnableConfig(callbacks=[handler], **more)  # type: ignore[typeddict-item]


def attributes(span: ReadableSpan) -> dict[str, Any]:
    return dict(span.attributes or {})


@contextmanager
def within(seconds: float) -> Iterator[None]:
    started = time.perf_counter()
    yield
    elapsed = time.perf_counter() - started
    assert elapsed < seconds, f"took {elapsed:.1f} s"


def _dag(levels: int) -> list[Any]:
    """A list whose leaves are reached 2**levels times, built from ``levels`` objects (sharing, not copying)."""
    node: list[Any] = ["leaf"]
    for _ in range(levels):
        node = [node, node]
    return node


def _self_referencing() -> dict[str, Any]:
    value: dict[str, Any] = {"question": "what is in here?"}
    value["self"] = value
    value["again"] = value
    return value


# --- stalls -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("quotes", [2_000, 32_000])
def test_a_metadata_value_full_of_quotes_costs_milliseconds(
    handler: OpenTelemetryCallbackHandler, exporter: InMemorySpanExporter, quotes: int
) -> None:
    """A dict holding a string of many ``"`` made the old credential-key scan quadratic (153 s at 32,000)."""
    metadata = {"blob": {"text": '"' * quotes, "api_key": "plain-Kq8Zr"}, "other": ['"' * quotes] * 3}
    chain = RunnableLambda(lambda x: x, name="inner") | RunnableLambda(lambda x: x, name="outer")
    with within(STALL_BOUND):
        chain.invoke("q", cfg(handler, metadata=metadata))

    spans = exporter.get_finished_spans()
    assert len(spans) == 3
    for span in spans:
        blob = str(attributes(span)["langchain.metadata.blob"])
        assert blob == ('{"text":"' + '\\"' * quotes)[:NAME_CAP]
        assert len(str(attributes(span)["langchain.metadata.other"])) == NAME_CAP
    assert b"Kq8Zr" not in otlp_bytes(spans)


def test_a_200_kb_metadata_string_costs_milliseconds(
    handler: OpenTelemetryCallbackHandler, exporter: InMemorySpanExporter
) -> None:
    note = ("token=abc&key=" * 15_000)[:200_000]
    with within(STALL_BOUND):
        for _ in range(20):
            RunnableLambda(lambda x: x, name="step").invoke("q", cfg(handler, metadata={"note": note}))

    for span in exporter.get_finished_spans():
        assert len(str(attributes(span)["langchain.metadata.note"])) <= NAME_CAP


@pytest.mark.parametrize(
    "make_input",
    [_self_referencing, lambda: {"dag": _dag(30)}, lambda: {"dag": _dag(30), "loop": _self_referencing()}],
    ids=["two-self-references", "dag-2**30", "both"],
)
def test_capture_on_with_a_cyclic_or_shared_input_returns_at_once(
    provider: TracerProvider, exporter: InMemorySpanExporter, make_input: Callable[[], Any]
) -> None:
    handler = OpenTelemetryCallbackHandler(provider, settings=Settings(capture_content=True, max_content_length=4096))
    value = make_input()
    with within(STALL_BOUND):
        result = RunnableLambda(lambda x: x, name="echo").invoke(value, cfg(handler))
    assert result is value

    (span,) = exporter.get_finished_spans()
    for key in ("langchain.input", "langchain.output"):
        captured = str(attributes(span)[key])
        assert 0 < len(captured) <= 4096
    if "self" in value:
        decoded = json.loads(str(attributes(span)["langchain.input"]))
        assert decoded == {"question": "what is in here?", "self": "[...]", "again": "[...]"}


@pytest.mark.parametrize("make_value", [_self_referencing, lambda: _dag(40)], ids=["cycle", "dag-2**40"])
def test_a_cyclic_or_shared_metadata_value_is_bounded_with_capture_off(
    handler: OpenTelemetryCallbackHandler, exporter: InMemorySpanExporter, make_value: Callable[[], Any]
) -> None:
    with within(STALL_BOUND):
        RunnableLambda(lambda x: x, name="step").invoke("q", cfg(handler, metadata={"value": make_value()}))
    value = str(attributes(find_span(exporter.get_finished_spans(), "step"))["langchain.metadata.value"])
    assert 0 < len(value) <= NAME_CAP


def test_the_redactor_walk_is_bounded_by_its_budget_not_by_the_value() -> None:
    redactor = Redactor(max_length=1000)
    with within(STALL_BOUND):
        clean = redactor.value({"wide": list(range(1_000_000)), "dag": _dag(60), "loop": _self_referencing()})
    assert len(json.dumps(clean)) < 10_000


# --- caps ---------------------------------------------------------------------------------------------

MEGABYTE = 1_000_000


def test_megabyte_run_model_and_tool_names_are_cut_to_255(
    handler: OpenTelemetryCallbackHandler, exporter: InMemorySpanExporter
) -> None:
    def fetch(query: str) -> str:
        return query

    tool = StructuredTool.from_function(fetch, name="t" * MEGABYTE, description="d" * MEGABYTE)
    model = FakeChatModel(responses=[reply("ok")], model="m" * MEGABYTE)
    chain = (RunnableLambda(tool.invoke, name="call_tool") | model).with_config(run_name="r" * MEGABYTE)
    chain.invoke("q", cfg(handler, tags=["g" * MEGABYTE], metadata={"k" * MEGABYTE: "v" * MEGABYTE}))

    spans = exporter.get_finished_spans()
    assert len(spans) == 4
    names = sorted(span.name for span in spans)
    assert names == sorted(
        ["r" * NAME_CAP, "call_tool", f"execute_tool {'t' * NAME_CAP}"[:NAME_CAP], f"chat {'m' * NAME_CAP}"[:NAME_CAP]]
    )
    for span in spans:
        for key, value in attributes(span).items():
            assert len(key) <= len("langchain.metadata.") + NAME_CAP
            if key != "gen_ai.tool.description":  # content-sized: LC_OTEL_MAX_CONTENT_LENGTH
                assert all(len(str(item)) <= NAME_CAP for item in (value if isinstance(value, tuple) else [value]))
    description = attributes(find_span(spans, f"execute_tool {'t' * NAME_CAP}"[:NAME_CAP]))["gen_ai.tool.description"]
    assert len(str(description)) == Settings().max_content_length
    assert len(otlp_bytes(spans)) < 64_000


def test_a_5_mb_run_name_leaves_a_batch_a_collector_accepts(
    handler: OpenTelemetryCallbackHandler, exporter: InMemorySpanExporter
) -> None:
    """One 5 MB ``run_name`` once made a gRPC collector (4 MB messages) drop a whole batch of 201 spans."""
    step = RunnableLambda(lambda x: x, name="step")
    for _ in range(200):
        step.invoke("q", cfg(handler))
    step.invoke("q", cfg(handler, run_name="x" * 5 * MEGABYTE))

    spans = exporter.get_finished_spans()
    assert len(spans) == 201
    assert len(otlp_bytes(spans)) < 200_000


def test_exception_text_is_cut_and_the_stacktrace_keeps_its_end(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    handler = OpenTelemetryCallbackHandler(provider, settings=Settings(max_exception_length=300))

    def step(_: Any) -> Any:
        raise ValueError("start " + "x" * MEGABYTE + " end")

    with pytest.raises(ValueError, match="start"):
        RunnableLambda(step, name="step").invoke("q", cfg(handler))

    span = find_span(exporter.get_finished_spans(), "step")
    assert span.status.description is not None
    assert len(span.status.description) == 300
    assert span.status.description.startswith("ValueError: start xxx")
    assert span.status.description.endswith("…")
    (event,) = span.events
    message = str((event.attributes or {})["exception.message"])
    stacktrace = str((event.attributes or {})["exception.stacktrace"])
    assert len(message) == 300
    assert message.startswith("start xxx")
    assert len(stacktrace) == 300
    assert stacktrace.startswith("…")
    assert stacktrace.rstrip().endswith("xxx end")


def test_the_default_exception_cap_is_documented_8192(
    handler: OpenTelemetryCallbackHandler, exporter: InMemorySpanExporter
) -> None:
    def step(_: Any) -> Any:
        raise ValueError("y" * MEGABYTE)

    with pytest.raises(ValueError, match="yyy"):
        RunnableLambda(step, name="step").invoke("q", cfg(handler))
    span = find_span(exporter.get_finished_spans(), "step")
    (event,) = span.events
    assert len(span.status.description or "") == 8192
    assert len(str((event.attributes or {})["exception.message"])) == 8192
    assert len(str((event.attributes or {})["exception.stacktrace"])) == 8192


def test_captured_content_is_cut_without_building_the_whole_value(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    handler = OpenTelemetryCallbackHandler(provider, settings=Settings(capture_content=True, max_content_length=512))
    wide = {"rows": [{"id": i, "text": "row " * 50} for i in range(200_000)]}
    with within(STALL_BOUND):
        RunnableLambda(lambda x: len(x["rows"]), name="count").invoke(wide, cfg(handler))
    captured = str(attributes(find_span(exporter.get_finished_spans(), "count"))["langchain.input"])
    assert len(captured) == 512
    assert captured.startswith('{"rows":[{"id":0,"text":"row row')
    assert captured.endswith("…")

"""The handler never breaks the host: odd event sequences, internal failures and bounded memory."""

from __future__ import annotations

import logging
import time
from typing import Any
from uuid import UUID, uuid4

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from langchain_core.language_models.fake_chat_models import FakeListChatModel
from langchain_core.runnables import RunnableLambda
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from lc_otel import OpenTelemetryCallbackHandler
from lc_otel._attributes import tags_metadata
from lc_otel._settings import Settings
from lc_otel.testing import find_span
from tests.support.spans import parent_id, span_id


@pytest.mark.internal_errors
def test_an_internal_error_never_reaches_the_chain(
    handler: OpenTelemetryCallbackHandler,
    exporter: InMemorySpanExporter,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
):
    """lc_otel failing inside a callback: the chain returns normally and one record is logged per kind."""

    def broken(*_: Any, **__: Any) -> None:
        raise RuntimeError("lc_otel bug")

    monkeypatch.setattr(tags_metadata, "user_tags", broken)
    monkeypatch.setattr("lc_otel._tracing.run_spans.tag_attributes", broken)
    chain = RunnableLambda(lambda x: x + 1) | RunnableLambda(lambda x: x * 2)
    for _ in range(3):
        assert chain.invoke(1, {"callbacks": [handler], "tags": ["t"]}) == 4
    records = [r for r in caplog.records if r.name == "lc_otel"]
    assert len(records) == 1
    assert "on_chain_start" in records[0].getMessage()
    assert "your chain is unaffected" in records[0].getMessage()


def test_end_and_error_for_unknown_runs_are_ignored(
    handler: OpenTelemetryCallbackHandler, exporter: InMemorySpanExporter
):
    """Events for runs never started produce no span and no error."""
    handler.on_chain_end({}, run_id=uuid4())
    handler.on_llm_end(None, run_id=uuid4())
    handler.on_tool_error(ValueError("x"), run_id=uuid4())
    handler.on_retriever_end([], run_id=uuid4())
    handler.on_llm_new_token("t", run_id=uuid4())
    handler.on_custom_event("e", {}, run_id=uuid4())
    assert exporter.get_finished_spans() == ()


def test_duplicate_start_and_end(handler: OpenTelemetryCallbackHandler, exporter: InMemorySpanExporter):
    """A run started or ended twice gives one span, ended once."""
    run_id = uuid4()
    handler.on_chain_start({}, {}, run_id=run_id, name="dup")
    handler.on_chain_start({}, {}, run_id=run_id, name="dup")
    handler.on_chain_end({}, run_id=run_id)
    handler.on_chain_end({}, run_id=run_id)
    handler.on_chain_error(ValueError("late"), run_id=run_id)
    (span,) = exporter.get_finished_spans()
    assert span.name == "dup"
    assert span.status.status_code is StatusCode.UNSET


def test_parent_ending_before_its_child(handler: OpenTelemetryCallbackHandler, exporter: InMemorySpanExporter):
    """A child left open when its parent ends is ended with it, marked cancelled; its late end is ignored."""
    parent, child = uuid4(), uuid4()
    handler.on_chain_start({}, {}, run_id=parent, name="parent")
    handler.on_chain_start({}, {}, run_id=child, parent_run_id=parent, name="child")
    handler.on_chain_end({}, run_id=parent)
    handler.on_chain_end({}, run_id=child)
    spans = exporter.get_finished_spans()
    assert [s.name for s in spans] == ["child", "parent"]
    child_span = find_span(spans, "child")
    assert child_span.attributes is not None
    assert child_span.attributes["langchain.run.cancelled"] is True
    assert parent_id(child_span) == span_id(find_span(spans, "parent"))
    assert handler.open_runs == 0


def test_child_starting_after_its_parent_ended_still_nests(
    handler: OpenTelemetryCallbackHandler, exporter: InMemorySpanExporter
):
    """A late child finds its recently ended parent."""
    parent, child = uuid4(), uuid4()
    handler.on_chain_start({}, {}, run_id=parent, name="parent")
    handler.on_chain_end({}, run_id=parent)
    handler.on_chain_start({}, {}, run_id=child, parent_run_id=parent, name="child")
    handler.on_chain_end({}, run_id=child)
    spans = exporter.get_finished_spans()
    assert parent_id(find_span(spans, "child")) == span_id(find_span(spans, "parent"))
    assert find_span(spans, "child").context.trace_id == find_span(spans, "parent").context.trace_id


def test_a_late_child_keeps_the_trace_state_and_sampling_of_its_ended_parent(
    handler: OpenTelemetryCallbackHandler, exporter: InMemorySpanExporter
):
    """Ended runs are remembered as plain values; a late child still gets the parent's trace state and flags."""
    state = trace.TraceState([("vendor", "value")])
    remote = trace.SpanContext(
        0x1234, 0x5678, is_remote=True, trace_flags=trace.TraceFlags(trace.TraceFlags.SAMPLED), trace_state=state
    )
    parent, child = uuid4(), uuid4()
    with trace.use_span(trace.NonRecordingSpan(remote)):
        handler.on_chain_start({}, {}, run_id=parent, name="parent")
    handler.on_chain_end({}, run_id=parent)
    handler.on_chain_start({}, {}, run_id=child, parent_run_id=parent, name="child")
    handler.on_chain_end({}, run_id=child)
    spans = exporter.get_finished_spans()
    late = find_span(spans, "child")
    assert parent_id(late) == span_id(find_span(spans, "parent"))
    assert late.context.trace_id == 0x1234
    assert late.context.trace_state == state
    assert late.context.trace_flags.sampled


def test_ended_runs_are_remembered_for_late_children_in_bounded_memory(
    handler: OpenTelemetryCallbackHandler, exporter: InMemorySpanExporter
):
    """The last 2,048 ended runs are found by a late child; older ones are forgotten, however many end."""
    ended = [uuid4() for _ in range(10_000)]
    for run_id in ended:
        handler.on_chain_start({}, {}, run_id=run_id, name="ended")
        handler.on_chain_end({}, run_id=run_id)
    recent_parent, old_parent = ended[-2048], ended[0]
    handler.on_chain_start({}, {}, run_id=uuid4(), parent_run_id=recent_parent, name="late child")
    handler.on_chain_start({}, {}, run_id=uuid4(), parent_run_id=old_parent, name="orphan")
    spans = exporter.get_finished_spans()
    assert len(spans) == 10_000
    handler.shutdown()
    spans = exporter.get_finished_spans()
    late, orphan = find_span(spans, "late child"), find_span(spans, "orphan")
    assert late.parent is not None
    assert late.parent.span_id == spans[len(ended) - 2048].context.span_id
    assert late.context.trace_id == spans[len(ended) - 2048].context.trace_id
    assert orphan.parent is None
    remembered = handler._runs._ended, handler._runs._ended_before  # pyright: ignore[reportPrivateUsage]
    assert sum(map(len, remembered)) <= 2 * 2048


def test_unknown_parent_becomes_a_root(handler: OpenTelemetryCallbackHandler, exporter: InMemorySpanExporter):
    """A parent id lc_otel never saw (e.g. a LangSmith run) makes a root span, with the id kept as attribute."""
    ghost = uuid4()
    run_id = uuid4()
    handler.on_chain_start({}, {}, run_id=run_id, parent_run_id=ghost, name="orphan")
    handler.on_chain_end({}, run_id=run_id)
    (span,) = exporter.get_finished_spans()
    assert span.parent is None
    assert span.attributes is not None
    assert span.attributes["langchain.run.parent_id"] == str(ghost)


def test_eviction_by_count(provider: TracerProvider, exporter: InMemorySpanExporter):
    """Past the open-run cap the oldest run is ended, marked evicted; the count stays bounded."""
    handler = OpenTelemetryCallbackHandler(provider, settings=Settings(max_open_runs=10))
    ids = [uuid4() for _ in range(25)]
    for i, run_id in enumerate(ids):
        handler.on_chain_start({}, {}, run_id=run_id, name=f"run{i}")
        assert handler.open_runs <= 10
    evicted = exporter.get_finished_spans()
    assert [s.name for s in evicted] == [f"run{i}" for i in range(15)]
    for span in evicted:
        assert span.attributes is not None
        assert span.attributes["langchain.run.evicted"] is True
    for run_id in ids:
        handler.on_chain_end({}, run_id=run_id)
    assert len(exporter.get_finished_spans()) == 25
    assert handler.open_runs == 0


def test_eviction_by_age(provider: TracerProvider, exporter: InMemorySpanExporter):
    """A run older than the age limit is evicted when the next run starts."""
    handler = OpenTelemetryCallbackHandler(provider, settings=Settings(max_run_age=0.05))
    old = uuid4()
    handler.on_chain_start({}, {}, run_id=old, name="stuck")
    time.sleep(0.1)
    handler.on_chain_start({}, {}, run_id=uuid4(), name="fresh")
    (span,) = exporter.get_finished_spans()
    assert span.name == "stuck"
    assert span.attributes is not None
    assert span.attributes["langchain.run.evicted"] is True
    assert handler.open_runs == 1


def test_shutdown_ends_open_runs(handler: OpenTelemetryCallbackHandler, exporter: InMemorySpanExporter):
    """shutdown() ends every open span, so nothing is lost at exit."""
    handler.on_chain_start({}, {}, run_id=uuid4(), name="open")
    handler.shutdown()
    (span,) = exporter.get_finished_spans()
    assert span.attributes is not None
    assert span.attributes["langchain.run.evicted"] is True


def test_huge_and_binary_payloads(handler: OpenTelemetryCallbackHandler, exporter: InMemorySpanExporter):
    """Huge inputs and binary metadata do not slow or break anything; values are cut."""
    chain = RunnableLambda(len)
    assert chain.invoke("x" * 5_000_000, {"callbacks": [handler], "metadata": {"blob": b"\xff" * 10_000}}) == 5_000_000
    (span,) = exporter.get_finished_spans()
    assert span.attributes is not None
    assert span.attributes["langchain.metadata.blob"] == "<10000 bytes>"


def test_handler_is_not_copied(handler: OpenTelemetryCallbackHandler):
    """LangChain deep-copies configs; the handler must stay one instance with one span table."""
    import copy

    assert copy.copy(handler) is handler
    assert copy.deepcopy({"callbacks": [handler]})["callbacks"][0] is handler


def test_handler_with_the_global_provider(exporter: InMemorySpanExporter):
    """With no provider given, the handler uses OpenTelemetry's global one (API only)."""
    handler = OpenTelemetryCallbackHandler(settings=Settings())
    FakeListChatModel(responses=["ok"]).invoke("q", {"callbacks": [handler]})
    assert handler.open_runs == 0


# --- property-based: random event sequences --------------------------------------------------------------

EVENTS = st.lists(
    st.tuples(
        st.sampled_from(["start", "start_child", "end", "error", "cancel", "token", "llm_start", "llm_end"]),
        st.integers(min_value=0, max_value=11),
        st.integers(min_value=0, max_value=11),
    ),
    max_size=60,
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(events=EVENTS, cap=st.integers(min_value=1, max_value=6))
def test_random_event_sequences(events: list[tuple[str, int, int]], cap: int):
    """Any sequence of start/end/error events: never raises, each started span ends exactly once, bounded."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    handler = OpenTelemetryCallbackHandler(provider, settings=Settings(max_open_runs=cap))
    ids = [UUID(int=i + 1) for i in range(12)]
    started: set[UUID] = set()
    log = logging.getLogger("lc_otel")
    records: list[logging.LogRecord] = []
    catcher = logging.Handler()
    catcher.emit = records.append
    log.addHandler(catcher)
    try:
        for kind, a, b in events:
            run_id, other = ids[a], ids[b]
            if kind == "start":
                handler.on_chain_start({}, {}, run_id=run_id, name=f"r{a}")
                started.add(run_id)
            elif kind == "start_child":
                handler.on_tool_start({"name": f"t{a}"}, "", run_id=run_id, parent_run_id=other)
                started.add(run_id)
            elif kind == "llm_start":
                handler.on_chat_model_start({}, [[]], run_id=run_id, parent_run_id=other)
                started.add(run_id)
            elif kind == "end":
                handler.on_chain_end({}, run_id=run_id)
            elif kind == "error":
                handler.on_tool_error(ValueError("x"), run_id=run_id)
            elif kind == "cancel":
                import asyncio

                handler.on_chain_error(asyncio.CancelledError(), run_id=run_id)
            elif kind == "token":
                handler.on_llm_new_token("x", run_id=run_id)
            else:
                handler.on_llm_end(None, run_id=run_id)
            assert handler.open_runs <= cap
        handler.shutdown()
    finally:
        log.removeHandler(catcher)
    assert handler.open_runs == 0
    assert not [r for r in records if "internal error" in r.getMessage()]
    spans = exporter.get_finished_spans()
    # every span object ended exactly once: the SDK exports a span once per end(); ids are unique
    assert len({span_id(s) for s in spans}) == len(spans)
    assert all(s.end_time is not None for s in spans)
    # a start of an id already open is dropped, so spans <= starts, and every started id produced a span
    assert {s.attributes["langchain.run.id"] for s in spans} == {str(i) for i in started}


def test_non_mapping_metadata_on_model_tool_and_retriever_runs_still_gives_their_spans(
    handler: OpenTelemetryCallbackHandler, exporter: InMemorySpanExporter
) -> None:
    """Metadata that is not a mapping is dropped, not the run."""
    odd: Any = ["not", "a", "mapping"]
    chat, tool_run, retriever = uuid4(), uuid4(), uuid4()
    handler.on_chat_model_start({}, [[]], run_id=chat, metadata=odd, invocation_params={"model": "m-1"})
    handler.on_llm_end(None, run_id=chat)
    handler.on_tool_start({"name": "lookup"}, "q", run_id=tool_run, metadata=odd)
    handler.on_tool_end("a", run_id=tool_run)
    handler.on_retriever_start({"name": "docs"}, "q", run_id=retriever, metadata="text")
    handler.on_retriever_end([], run_id=retriever)
    spans = exporter.get_finished_spans()
    assert sorted(s.name for s in spans) == ["chat m-1", "execute_tool lookup", "retrieval docs"]
    assert all(not key.startswith("langchain.metadata.") for s in spans for key in s.attributes or {})


def test_odd_metadata_and_unhashable_tags_on_a_chain_keep_its_span(
    handler: OpenTelemetryCallbackHandler, exporter: InMemorySpanExporter
) -> None:
    """A chain whose metadata is a list or whose tags hold a list still gets its span (and its usable tags)."""
    odd_metadata: Any = ["not", "a", "mapping"]
    odd_tags: Any = ["prod", ["nested"]]
    first, second = uuid4(), uuid4()
    handler.on_chain_start({"name": "a"}, {}, run_id=first, metadata=odd_metadata)
    handler.on_chain_end({}, run_id=first)
    handler.on_chain_start({"name": "b"}, {}, run_id=second, tags=odd_tags)
    handler.on_chain_end({}, run_id=second)
    spans = exporter.get_finished_spans()
    assert sorted(s.name for s in spans) == ["a", "b"]
    assert (find_span(spans, "b").attributes or {})["langchain.tag.prod"] is True

"""instrument() / uninstrument() / suppress_tracing(): every run traced exactly once, process-wide."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator

import pytest
from langchain_core.runnables import Runnable, RunnableLambda
from langchain_core.tracers import context as lc_context
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from lc_otel._instrument import instrument, is_instrumented, suppress_tracing, uninstrument
from lc_otel._settings import Settings
from lc_otel.handler import OpenTelemetryCallbackHandler
from lc_otel.testing import FakeChatModel, capture_spans, reply, reset

# instrument() keeps the options of its first call for the life of the process: one provider for this module.
_EXPORTER = InMemorySpanExporter()
_PROVIDER = TracerProvider()
_PROVIDER.add_span_processor(SimpleSpanProcessor(_EXPORTER))


@pytest.fixture(name="spans")
def _spans() -> Iterator[InMemorySpanExporter]:
    instrument(_PROVIDER, settings=Settings()) if not is_instrumented() else instrument()
    _EXPORTER.clear()
    yield _EXPORTER
    uninstrument()
    _EXPORTER.clear()


def _chain(model: FakeChatModel | None = None) -> Runnable[str, object]:
    first = RunnableLambda(lambda x: x).with_config(run_name="first")
    return (first | (model or FakeChatModel(responses=[reply("hi")] * 20))).with_config(run_name="root")


def _names(spans: tuple[ReadableSpan, ...]) -> Counter[str]:
    return Counter(span.name for span in spans)


def _assert_one_tree(spans: tuple[ReadableSpan, ...]) -> None:
    assert _names(spans) == Counter({"root": 1, "first": 1, "chat fake-model-1": 1})
    root = next(span for span in spans if span.name == "root")
    assert root.parent is None
    assert root.context is not None
    for span in spans:
        if span is not root:
            assert span.parent is not None
            assert span.parent.span_id == root.context.span_id


def test_every_run_is_traced_once(spans: InMemorySpanExporter) -> None:
    _chain().invoke("x")
    _assert_one_tree(spans.get_finished_spans())


def test_the_process_handler_passed_explicitly_too_traces_once(spans: InMemorySpanExporter) -> None:
    handler = instrument()
    _chain().invoke("x", {"callbacks": [handler]})
    _assert_one_tree(spans.get_finished_spans())


def test_another_handler_passed_explicitly_takes_the_whole_tree(spans: InMemorySpanExporter) -> None:
    mine = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(mine))
    _chain().invoke("x", {"callbacks": [OpenTelemetryCallbackHandler(provider, settings=Settings())]})
    assert spans.get_finished_spans() == ()
    _assert_one_tree(mine.get_finished_spans())


def test_a_handler_on_a_nested_model_does_not_duplicate_its_run(spans: InMemorySpanExporter) -> None:
    other = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(other))
    handler = OpenTelemetryCallbackHandler(provider, settings=Settings())
    _chain(FakeChatModel(responses=[reply("hi")], callbacks=[handler])).invoke("x")
    # The process handler started the tree first, so it keeps the model's run too: one whole tree.
    _assert_one_tree(spans.get_finished_spans())
    assert other.get_finished_spans() == ()


def test_raw_threads_are_traced(spans: InMemorySpanExporter) -> None:
    threads = [threading.Thread(target=_chain().invoke, args=("x",)) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert _names(spans.get_finished_spans()) == Counter({"root": 3, "first": 3, "chat fake-model-1": 3})


async def test_astream_events_is_traced_once(spans: InMemorySpanExporter) -> None:
    events = [event async for event in _chain().astream_events("x", version="v2")]
    assert events
    _assert_one_tree(spans.get_finished_spans())


def test_batch_gives_one_tree_per_input(spans: InMemorySpanExporter) -> None:
    _chain().batch(["a", "b", "c"])
    finished = spans.get_finished_spans()
    assert _names(finished) == Counter({"root": 3, "first": 3, "chat fake-model-1": 3})
    roots = [span for span in finished if span.name == "root"]
    assert len({span.context.trace_id for span in roots if span.context}) == 3


def test_uninstrument_stops_and_instrument_resumes(spans: InMemorySpanExporter) -> None:
    uninstrument()
    assert not is_instrumented()
    _chain().invoke("x")
    assert spans.get_finished_spans() == ()
    instrument()
    _chain().invoke("x")
    _assert_one_tree(spans.get_finished_spans())


def test_instrument_is_idempotent(spans: InMemorySpanExporter) -> None:
    hooks = len(lc_context._configure_hooks)
    assert instrument() is instrument()
    assert len(lc_context._configure_hooks) == hooks
    _chain().invoke("x")
    _assert_one_tree(spans.get_finished_spans())


def test_later_options_are_ignored_with_a_warning(
    spans: InMemorySpanExporter, caplog: pytest.LogCaptureFixture
) -> None:
    handler = instrument(capture_content=True)
    assert handler.settings.capture_content is False
    assert "already called" in caplog.text


def test_suppress_tracing_opts_a_context_out(spans: InMemorySpanExporter) -> None:
    with suppress_tracing():
        _chain().invoke("x")
        thread = threading.Thread(target=_chain().invoke, args=("x",))
        thread.start()
        thread.join()
    # The raw thread starts with an empty context: it is not inside the block, so it is traced.
    _assert_one_tree(spans.get_finished_spans())
    spans.clear()

    def tool_like(x: str) -> str:
        with suppress_tracing():
            return str(_chain().invoke(x))

    RunnableLambda(tool_like).with_config(run_name="outer").invoke("x")
    assert _names(spans.get_finished_spans()) == Counter({"outer": 1})


def test_explicit_handlers_still_trace_inside_suppress_tracing(spans: InMemorySpanExporter) -> None:
    mine = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(mine))
    with suppress_tracing():
        _chain().invoke("x", {"callbacks": [OpenTelemetryCallbackHandler(provider, settings=Settings())]})
    _assert_one_tree(mine.get_finished_spans())
    assert spans.get_finished_spans() == ()


@pytest.mark.usefixtures("spans")
def test_instrument_can_turn_context_propagation_off_and_on():
    """instrument(propagate_context=False) leaves LangChain unpatched; True patches it again."""
    from lc_otel._propagation import install as propagation

    try:
        instrument(propagate_context=False)
        assert not propagation.is_installed()
        instrument(propagate_context=True)
        assert propagation.is_installed()
    finally:
        propagation.reset()


def test_capture_spans_takes_its_blocks_runs_from_the_process_handler(spans: InMemorySpanExporter) -> None:
    """Inside capture_spans() the test's in-memory handler traces the runs; outside, the process-wide one."""
    with capture_spans() as captured:
        _chain().invoke("x")
    _assert_one_tree(captured.spans)
    assert spans.get_finished_spans() == ()
    _chain().invoke("x")
    _assert_one_tree(spans.get_finished_spans())


def test_reset_switches_instrument_off_until_it_is_called_again(spans: InMemorySpanExporter) -> None:
    from lc_otel._propagation import install as propagation

    reset()
    assert not is_instrumented()
    assert not propagation.is_installed()
    _chain().invoke("x")
    assert spans.get_finished_spans() == ()
    instrument()
    assert propagation.is_installed()  # as when instrument() first made the handler
    _chain().invoke("x")
    _assert_one_tree(spans.get_finished_spans())

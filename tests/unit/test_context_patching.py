"""The context-propagation patch: idempotent, reversible, opt-out, and harmless when lc_otel's part fails."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from typing import Any
from uuid import UUID

import pytest
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.runnables import RunnableLambda
from langchain_core.runnables import config as lc_config
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from lc_otel import OpenTelemetryCallbackHandler
from lc_otel._propagation import install as propagation
from lc_otel._settings import Settings
from lc_otel.testing import FakeChatModel, find_span, reply
from tests.support.spans import parent_id, span_id

_ORIGINAL_SET_CONFIG = lc_config.__dict__["_set_config_context"]
_ORIGINAL_GENERATE = BaseChatModel.__dict__["_generate_with_cache"]
_ORIGINAL_STREAM = BaseChatModel.__dict__["stream"]


@pytest.fixture(autouse=True)
def _clean() -> Iterator[None]:
    propagation.reset()
    yield
    propagation.reset()


def nests(provider: TracerProvider, exporter: InMemorySpanExporter, handler: OpenTelemetryCallbackHandler) -> bool:
    """Whether a user span inside a lambda lands under the lambda's span."""
    tracer = provider.get_tracer("user")

    def step(x: int) -> int:
        with tracer.start_as_current_span("user.step"):
            return x

    exporter.clear()
    RunnableLambda(step).invoke(1, {"callbacks": [handler]})
    spans = exporter.get_finished_spans()
    return parent_id(find_span(spans, "user.step")) == span_id(find_span(spans, "step"))


def test_install_is_idempotent_and_uninstall_restores_the_originals() -> None:
    assert propagation.install()
    first = lc_config.__dict__["_set_config_context"]
    assert first is not _ORIGINAL_SET_CONFIG
    assert propagation.install()
    assert lc_config.__dict__["_set_config_context"] is first  # not wrapped twice
    propagation.uninstall()
    assert not propagation.is_installed()
    assert lc_config.__dict__["_set_config_context"] is _ORIGINAL_SET_CONFIG
    assert BaseChatModel.__dict__["_generate_with_cache"] is _ORIGINAL_GENERATE
    assert BaseChatModel.__dict__["stream"] is _ORIGINAL_STREAM


def test_a_handler_turns_propagation_on_by_default(provider: TracerProvider, exporter: InMemorySpanExporter) -> None:
    handler = OpenTelemetryCallbackHandler(provider, settings=Settings())
    assert propagation.is_installed()
    assert nests(provider, exporter, handler)


def test_environment_opt_out(
    monkeypatch: pytest.MonkeyPatch, provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    monkeypatch.setenv(propagation.LC_OTEL_PROPAGATE_CONTEXT, "false")
    handler = OpenTelemetryCallbackHandler(provider, settings=Settings())
    assert not propagation.is_installed()
    assert lc_config.__dict__["_set_config_context"] is _ORIGINAL_SET_CONFIG
    assert not nests(provider, exporter, handler)


def test_explicit_uninstall_is_not_undone_by_a_new_handler(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    propagation.install()
    propagation.uninstall()
    handler = OpenTelemetryCallbackHandler(provider, settings=Settings())
    assert not propagation.is_installed()
    assert not nests(provider, exporter, handler)


def test_someone_wrapping_after_us_keeps_working_after_uninstall(
    provider: TracerProvider, exporter: InMemorySpanExporter, handler: OpenTelemetryCallbackHandler
) -> None:
    propagation.install()
    ours = lc_config.__dict__["_set_config_context"]
    calls: list[int] = []

    def theirs(config: Any, *args: Any) -> Any:
        calls.append(1)
        return ours(config, *args)

    lc_config._set_config_context = theirs
    try:
        propagation.uninstall()
        assert lc_config.__dict__["_set_config_context"] is theirs  # left in place
        assert not nests(provider, exporter, handler)  # ours is now a pass-through
        assert calls
    finally:
        lc_config._set_config_context = _ORIGINAL_SET_CONFIG


class _BrokenLookup(OpenTelemetryCallbackHandler):
    def context_for(self, run_id: UUID) -> Context | None:
        raise RuntimeError("lookup exploded")


@pytest.mark.internal_errors
def test_a_failing_lookup_falls_back_to_the_original_behaviour(
    provider: TracerProvider, exporter: InMemorySpanExporter, caplog: pytest.LogCaptureFixture
) -> None:
    handler = _BrokenLookup(provider, settings=Settings())
    propagation.install()
    model = FakeChatModel(responses=[reply("fine")])
    for _ in range(3):
        assert RunnableLambda(lambda x: x + 1).invoke(1, {"callbacks": [handler]}) == 2
        assert model.invoke("hi", {"callbacks": [handler]}).content == "fine"
        assert "".join(str(c.content) for c in model.stream("hi", {"callbacks": [handler]})) == "fine"
    names = [s.name for s in exporter.get_finished_spans()]
    assert names.count("chat fake-model-1") == 6
    reports = [r for r in caplog.records if r.name == "lc_otel" and "lookup exploded" in r.getMessage()]
    # Logged once per place, not once per call.
    assert 1 <= len(reports) <= 4
    assert len({r.getMessage() for r in reports}) == len(reports)


@pytest.mark.internal_errors
def test_a_broken_handler_does_not_hide_another_handlers_span(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    broken = _BrokenLookup(provider, settings=Settings())  # registered first, so asked first
    handler = OpenTelemetryCallbackHandler(provider, settings=Settings())
    propagation.install()
    tracer = provider.get_tracer("user")

    class Calling(FakeChatModel):
        def _stream(self, *args: Any, **kwargs: Any) -> Any:
            with tracer.start_as_current_span("user.http"):  # what an instrumented HTTP client would do
                yield from super()._stream(*args, **kwargs)

    chunks = Calling(responses=[reply("a b")]).stream("hi", {"callbacks": [handler]})
    assert "".join(str(c.content) for c in chunks) == "a b"
    spans = exporter.get_finished_spans()
    assert parent_id(find_span(spans, "user.http")) == span_id(find_span(spans, "chat fake-model-1"))
    assert broken.open_runs == 0


def test_user_exceptions_pass_through_unchanged(handler: OpenTelemetryCallbackHandler) -> None:
    propagation.install()

    def fail(_: int) -> int:
        raise KeyError("mine")

    with pytest.raises(KeyError, match="mine"):
        RunnableLambda(fail).invoke(1, {"callbacks": [handler]})

    class Failing(FakeChatModel):
        def _generate(self, *args: Any, **kwargs: Any) -> Any:
            raise ValueError("model down")

    with pytest.raises(ValueError, match="model down"):
        Failing(responses=[reply()]).invoke("hi", {"callbacks": [handler]})
    with pytest.raises(ValueError, match="model down"):
        list(Failing(responses=[reply()], disable_streaming=True).stream("hi", {"callbacks": [handler]}))
    assert not trace.get_current_span().get_span_context().is_valid


def test_a_run_id_the_caller_chose_is_kept(
    handler: OpenTelemetryCallbackHandler, exporter: InMemorySpanExporter
) -> None:
    propagation.install()
    chosen = UUID("0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b")
    list(FakeChatModel(responses=[reply("a b")]).stream("hi", {"callbacks": [handler], "run_id": chosen}))
    (chat,) = exporter.get_finished_spans()
    assert chat.attributes is not None
    assert chat.attributes["langchain.run.id"] == str(chosen)


_LANGGRAPH_IMPORTED_LATER = """
import sys
from typing import TypedDict

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from lc_otel import OpenTelemetryCallbackHandler

exporter = InMemorySpanExporter()
provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(exporter))
handler = OpenTelemetryCallbackHandler(provider)
print("imported by lc_otel:", "langgraph" in sys.modules)

from langgraph.graph import END, START, StateGraph


class State(TypedDict):
    text: str


def clean(state: State) -> State:
    with provider.get_tracer("user").start_as_current_span("user.clean"):
        return {"text": state["text"].strip()}


builder = StateGraph(State)
builder.add_node("clean", clean)
builder.add_edge(START, "clean")
builder.add_edge("clean", END)
builder.compile().invoke({"text": " hi "}, {"callbacks": [handler]})
spans = {span.name: span for span in exporter.get_finished_spans()}
print("nested:", spans["user.clean"].parent.span_id == spans["clean"].context.span_id)
"""


def test_langgraph_imported_after_the_handler_is_patched_and_never_imported_by_lc_otel() -> None:
    """LangGraph is patched when the application imports it; lc_otel alone never pays for importing it."""
    done = subprocess.run(
        [sys.executable, "-c", _LANGGRAPH_IMPORTED_LATER], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["imported by lc_otel: False", "nested: True"]


def test_the_fast_current_context_is_the_apis() -> None:
    """lc_otel sets OpenTelemetry's context variable directly; the API must see exactly the same thing."""
    from opentelemetry import context as otel_context

    from lc_otel._tracing import fast_context

    # With the default runtime context the fast path is in use; if an SDK release moves the variable, this
    # fails and says so, while lc_otel itself falls back to the public API.
    assert fast_context._variable is not None
    span = trace.NonRecordingSpan(trace.SpanContext(1, 2, is_remote=False))
    token = fast_context.attach(trace.set_span_in_context(span))
    try:
        assert trace.get_current_span() is span
        assert fast_context.get_current() is otel_context.get_current()
    finally:
        fast_context.detach(token)
    assert trace.get_current_span() is not span
    token = otel_context.attach(trace.set_span_in_context(span))
    assert trace.get_current_span(fast_context.get_current()) is span
    otel_context.detach(token)

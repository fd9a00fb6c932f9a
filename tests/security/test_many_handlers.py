"""Per-run cost does not grow with the number of live handlers: a run asks only the handler that traces it."""

from __future__ import annotations

import gc
from typing import Any, ClassVar
from uuid import UUID, uuid4

from langchain_core.runnables import RunnableLambda
from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from lc_otel import OpenTelemetryCallbackHandler
from lc_otel._propagation import install as propagation
from lc_otel._settings import Settings
from lc_otel._tracing import handler_registry
from lc_otel.testing import FakeChatModel, find_span, reply
from tests.support.spans import parent_id, span_id


class _Counted(OpenTelemetryCallbackHandler):
    """Counts every question the registry or a lookup asks it (``tracks``, ``context_for``)."""

    questions: ClassVar[dict[str, int]] = {}

    def __init__(self, *args: Any, role: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.role = role

    def _count(self) -> None:
        self.questions[self.role] = self.questions.get(self.role, 0) + 1

    def tracks(self, run_id: UUID) -> bool:
        self._count()
        return super().tracks(run_id)

    def context_for(self, run_id: UUID) -> Context | None:
        self._count()
        return super().context_for(run_id)


def _traced_request(provider: TracerProvider, idle: int) -> tuple[dict[str, int], list[ReadableSpan], int]:
    """Run one chain and one stream with a handler while ``idle`` other handlers are alive.

    Returns:
        The questions each role was asked, the spans, and how many runs stayed open.
    """
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    others = [_Counted(provider, settings=Settings(), role="idle") for _ in range(idle)]
    handler = _Counted(provider, settings=Settings(), role="tracing")
    _Counted.questions.clear()
    model = FakeChatModel(responses=[reply("a b c")])
    chain = RunnableLambda(lambda x: x).with_config(run_name="prepare") | model
    chain.invoke("q", {"callbacks": [handler]})
    assert "".join(str(c.content) for c in model.stream("q", {"callbacks": [handler]})) == "a b c"
    asked = dict(_Counted.questions)
    assert all(other.open_runs == 0 for other in others)
    return asked, list(exporter.get_finished_spans()), handler.open_runs


def test_a_run_asks_only_its_own_handler_however_many_are_alive() -> None:
    propagation.install()  # streams and steps look their run's span up: the lookups that used to ask everyone
    one_provider, many_provider = TracerProvider(), TracerProvider()
    asked_one, spans_one, open_one = _traced_request(one_provider, idle=1)
    asked_many, spans_many, open_many = _traced_request(many_provider, idle=1000)
    assert asked_many.get("idle", 0) == 0  # was 1,000 questions per run start, and per lookup
    assert asked_one.get("idle", 0) == 0
    # The handler that traces the runs is asked as often with 1,000 idle handlers as with one: O(1) per run.
    assert asked_many == asked_one
    assert asked_many.get("tracing", 0) > 0  # the lookups happen (and go to the right handler)
    for spans, still_open in ((spans_one, open_one), (spans_many, open_many)):
        assert sorted(s.name for s in spans) == [
            "RunnableSequence",
            "chat fake-model-1",
            "chat fake-model-1",
            "prepare",
        ]
        root = find_span(spans, "RunnableSequence")
        assert parent_id(find_span(spans, "prepare")) == span_id(root)
        assert still_open == 0
    one_provider.shutdown()
    many_provider.shutdown()


def test_the_first_handler_to_start_a_run_owns_it_and_a_dropped_handler_lets_go(provider: TracerProvider) -> None:
    run_id = uuid4()
    first = OpenTelemetryCallbackHandler(provider, settings=Settings())
    second = OpenTelemetryCallbackHandler(provider, settings=Settings())
    first.on_chain_start({}, {}, run_id=run_id, name="left open")  # a run whose end never comes
    second.on_chain_start({}, {}, run_id=run_id, name="left open")
    assert handler_registry.owner(run_id) is first
    assert (first.open_runs, second.open_runs) == (1, 0)  # one span per run
    del first
    gc.collect()
    # The registry does not keep a dropped handler alive, nor its claims.
    assert handler_registry.owner(run_id) is None
    assert run_id.int not in handler_registry.OWNER_OF
    second.on_chain_start({}, {}, run_id=run_id, name="retried")
    assert handler_registry.owner(run_id) is second
    second.on_chain_end({}, run_id=run_id)
    assert handler_registry.owner(run_id) is None
    assert second.open_runs == 0


def test_ended_runs_leave_nothing_in_the_registry(
    handler: OpenTelemetryCallbackHandler, exporter: InMemorySpanExporter
) -> None:
    before = len(handler_registry.OWNER_OF)
    chain = RunnableLambda(lambda x: x).with_config(run_name="prepare") | FakeChatModel(responses=[reply()])
    chain.batch(["a", "b", "c"], {"callbacks": [handler]})
    assert len(exporter.get_finished_spans()) == 9
    assert len(handler_registry.OWNER_OF) == before

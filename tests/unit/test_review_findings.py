"""Defects found by reviewing lc-otel against SPEC.md, each pinned by the behaviour SPEC requires.

Each test names the SPEC sentence it holds the code to. Tests marked ``xfail(strict=True)`` wait for a change in
a file owned by someone else; they turn into failures (strict) as soon as that change lands, and the marker is
then removed.
"""

from __future__ import annotations

from typing import Any, TypedDict

import pytest
from langchain_core.tools import tool
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from langgraph.types import Command, interrupt
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from lc_otel import OpenTelemetryCallbackHandler
from tests.support.spans import by_name


def _finished(exporter: InMemorySpanExporter) -> list[ReadableSpan]:
    return list(exporter.get_finished_spans())


# --- errors -----------------------------------------------------------------------------------------------


class _UnprintableError(Exception):
    """An exception whose message cannot be rendered (its ``__str__`` raises)."""

    def __str__(self) -> str:
        raise RuntimeError("no message for you")


def test_a_failing_tool_whose_exception_cannot_be_printed_still_gets_an_ended_error_span(
    handler: OpenTelemetryCallbackHandler, exporter: InMemorySpanExporter
) -> None:
    """SPEC §3 "every span is ended exactly once, also on errors"; before, the span was lost."""

    @tool
    def explode(x: int) -> int:
        """Always fails."""
        raise _UnprintableError

    with pytest.raises(_UnprintableError):
        explode.invoke({"x": 1}, {"callbacks": [handler]})

    span = by_name(_finished(exporter), "execute_tool explode")
    assert span.status.status_code is StatusCode.ERROR
    assert span.status.description == "_UnprintableError"
    assert span.attributes is not None
    assert span.attributes["error.type"] == f"{__name__}._UnprintableError"
    assert [event.name for event in span.events] == ["exception"]
    assert handler.open_runs == 0


class _State(TypedDict):
    answer: str


def _approval_graph() -> Any:
    def ask_human(state: _State) -> _State:
        return {"answer": str(interrupt("approve?"))}

    graph = StateGraph(_State)
    graph.add_node("ask_human", ask_human)
    graph.add_edge(START, "ask_human")
    graph.add_edge("ask_human", END)
    return graph.compile(checkpointer=InMemorySaver())


def test_a_langgraph_interrupt_is_not_recorded_as_an_error(
    handler: OpenTelemetryCallbackHandler, exporter: InMemorySpanExporter
) -> None:
    """A human-in-the-loop pause is control flow (the peers' false ERROR, openinference #3231)."""
    app = _approval_graph()
    config: Any = {"callbacks": [handler], "configurable": {"thread_id": "t-1"}}

    paused = app.invoke({"answer": ""}, config)
    assert "__interrupt__" in paused
    spans = _finished(exporter)
    assert sorted(s.name for s in spans) == ["LangGraph", "ask_human"]
    node = by_name(spans, "ask_human")
    assert node.status.status_code is StatusCode.UNSET
    assert node.attributes is not None
    assert node.attributes["langgraph.control_flow"] == "GraphInterrupt"
    assert "error.type" not in node.attributes
    assert node.events == ()
    assert by_name(spans, "LangGraph").status.status_code is StatusCode.UNSET

    exporter.clear()
    assert app.invoke(Command(resume="yes"), config) == {"answer": "yes"}
    assert all(s.status.status_code is StatusCode.UNSET for s in _finished(exporter))
    assert handler.open_runs == 0

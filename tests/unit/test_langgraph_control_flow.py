"""LangGraph's control flow (an interrupt, a resume) is not a failure: its spans stay UNSET.

Apart from the errors tests because the compat run (langchain-core 0.3, no LangGraph) runs those.
"""

from __future__ import annotations

from typing import Any, TypedDict

from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from langgraph.types import Command, interrupt
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from lc_otel import OpenTelemetryCallbackHandler
from lc_otel.testing import find_span


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
    """A human-in-the-loop pause is control flow: UNSET, marked ``langgraph.control_flow``, and the resume too."""
    app = _approval_graph()
    config: Any = {"callbacks": [handler], "configurable": {"thread_id": "t-1"}}

    paused = app.invoke({"answer": ""}, config)
    assert "__interrupt__" in paused
    spans = exporter.get_finished_spans()
    assert sorted(s.name for s in spans) == ["ask_human", "invoke_workflow LangGraph"]
    node = find_span(spans, "ask_human")
    assert node.status.status_code is StatusCode.UNSET
    assert node.attributes is not None
    assert node.attributes["langgraph.control_flow"] == "GraphInterrupt"
    assert "error.type" not in node.attributes
    assert node.events == ()
    assert find_span(spans, "invoke_workflow LangGraph").status.status_code is StatusCode.UNSET

    exporter.clear()
    assert app.invoke(Command(resume="yes"), config) == {"answer": "yes"}
    assert all(s.status.status_code is StatusCode.UNSET for s in exporter.get_finished_spans())
    assert handler.open_runs == 0

"""Defects found by reviewing lc-otel against SPEC.md, each pinned by the behaviour SPEC requires.

Each test names the SPEC sentence it holds the code to. Tests marked ``xfail(strict=True)`` wait for a change in
a file owned by someone else; they turn into failures (strict) as soon as that change lands, and the marker is
then removed.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
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
from lc_otel._settings import Settings
from tests.support.spans import by_name

_README = Path(__file__).resolve().parents[2] / "README.md"
_README_VARIABLES = sorted(set(re.findall(r"^\| `((?:LC_OTEL|OTEL)_[A-Z_]+)`", _README.read_text(), re.MULTILINE)))


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


# --- configuration ----------------------------------------------------------------------------------------

_NUMERIC_VARIABLES = (
    "LC_OTEL_MAX_CONTENT_LENGTH",
    "LC_OTEL_MAX_OPEN_RUNS",
    "LC_OTEL_MAX_RUN_AGE",
    "LC_OTEL_EXPORT_TIMEOUT",
    "LC_OTEL_RETRY_AFTER",
    "LC_OTEL_SHUTDOWN_TIMEOUT",
    "OTEL_BSP_MAX_QUEUE_SIZE",
    "OTEL_BSP_MAX_EXPORT_BATCH_SIZE",
)


@pytest.mark.parametrize("value", ["inf", "1e999", "-inf"])
def test_an_infinite_number_in_the_environment_falls_back_to_the_default(value: str) -> None:
    """SPEC §4 "bad values log a warning and fall back": ``int(inf)`` raised into the handler's constructor."""
    settings = Settings.from_env(dict.fromkeys(_NUMERIC_VARIABLES, value))
    assert settings == Settings()


@pytest.mark.parametrize("value", ["inf", "1e999", "garbage", "-1", "nan", "http://[::1", "(unclosed"])
def test_no_configuration_value_breaks_import_configure_instrument_or_a_chain(tmp_path: Path, value: str) -> None:
    """SPEC §4 "importing lc_otel never fails because of configuration", and neither does using it."""
    environ = {key: val for key, val in os.environ.items() if not key.startswith(("LC_OTEL_", "OTEL_"))}
    environ.update(dict.fromkeys([*_README_VARIABLES, *_NUMERIC_VARIABLES], value))
    environ["LC_OTEL_EXPORT_FILE"] = str(tmp_path / "spans.jsonl")
    environ["LC_OTEL_SHUTDOWN_TIMEOUT"] = value if value in {"inf", "1e999"} else "1"
    code = (
        "import lc_otel\n"
        "from langchain_core.runnables import RunnableLambda\n"
        "lc_otel.configure()\n"
        "lc_otel.instrument()\n"
        "handler = lc_otel.OpenTelemetryCallbackHandler()\n"
        "print(RunnableLambda(lambda x: x + 1).invoke(1, {'callbacks': [handler]}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], env=environ, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "2"
    assert "Traceback" not in done.stderr


def test_a_bad_lc_otel_capture_value_falls_back_to_the_genai_switch() -> None:
    """SPEC §4: explicit > ``LC_OTEL_*`` > ``OTEL_*`` > default, and a bad value falls back (to the next one)."""
    genai_on = {"OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "SPAN_ONLY"}
    assert Settings.from_env({**genai_on, "LC_OTEL_CAPTURE_CONTENT": "maybe"}).capture_content is True
    assert Settings.from_env({**genai_on, "LC_OTEL_CAPTURE_CONTENT": "false"}).capture_content is False
    assert Settings.from_env({"LC_OTEL_CAPTURE_CONTENT": "maybe"}).capture_content is False


@pytest.mark.xfail(strict=True, reason="README's configuration table lacks variables the code reads (lead's file)")
def test_the_readme_table_lists_every_variable_the_code_reads() -> None:
    """SPEC §4 "each variable is documented in one table in the README"."""
    source = Path(__file__).resolve().parents[2] / "src" / "lc_otel"
    read = set()
    for path in source.rglob("*.py"):
        read.update(re.findall(r"\"((?:LC_OTEL|OTEL)_[A-Z_]+)\"", path.read_text()))
    read -= {"OTEL_ENABLED", "OTEL_ONLY"}  # suffixes of LangSmith's LANGSMITH_/LANGCHAIN_ switches
    documented = set(re.findall(r"`((?:LC_OTEL|OTEL)_[A-Z_]+)`", _README.read_text().split("## Configuration")[1]))
    assert sorted(read - documented) == []

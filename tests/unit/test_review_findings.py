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
from uuid import uuid4

import pytest
from langchain_core.runnables import RunnableLambda
from langchain_core.tools import tool
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from langgraph.types import Command, interrupt
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from lc_otel import OpenTelemetryCallbackHandler
from lc_otel._settings import Settings
from lc_otel.cli import main
from lc_otel.testing import find_span

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

    span = find_span(_finished(exporter), "execute_tool explode")
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


def test_the_readme_table_lists_every_variable_the_code_reads() -> None:
    """SPEC §4 "each variable is documented in one table in the README"."""
    source = Path(__file__).resolve().parents[2] / "src" / "lc_otel"
    read = set()
    for path in source.rglob("*.py"):
        read.update(re.findall(r"\"((?:LC_OTEL|OTEL)_[A-Z_]+)\"", path.read_text()))
    read -= {"OTEL_ENABLED", "OTEL_ONLY"}  # suffixes of LangSmith's LANGSMITH_/LANGCHAIN_ switches
    documented = set(re.findall(r"`((?:LC_OTEL|OTEL)_[A-Z_]+)`", _README.read_text().split("## Configuration")[1]))
    assert sorted(read - documented) == []


# --- secrets in metadata ----------------------------------------------------------------------------------

_OPENAI_KEY = "sk-proj-" + "A1b2C3d4E5f6G7h8" * 2


def test_secrets_in_metadata_never_leave_even_with_content_capture_off(
    handler: OpenTelemetryCallbackHandler, exporter: InMemorySpanExporter
) -> None:
    """SPEC §3 "Secrets never leave the process, whatever the setting": metadata is sent on every span."""
    metadata = {
        "user_id": "u-42",
        "api_key": "plain-looking-value",
        "Authorization": "Basic dXNlcjpwYXNz",
        "note": f"called with {_OPENAI_KEY}",
        "client": {"base_url": "https://example.test", "headers": {"x-api-key": "k-123"}},
        "padding": "x" * 250 + " " + _OPENAI_KEY,  # the key straddles the 255-character cut
    }
    RunnableLambda(lambda x: x, name="step").invoke(1, {"callbacks": [handler], "metadata": metadata})

    attributes = dict(find_span(_finished(exporter), "step").attributes or {})
    assert attributes["langchain.metadata.user_id"] == "u-42"
    assert attributes["langchain.metadata.api_key"] == "[REDACTED]"
    assert attributes["langchain.metadata.Authorization"] == "[REDACTED]"
    assert attributes["langchain.metadata.note"] == "called with [REDACTED]"
    assert attributes["langchain.metadata.client"] == (
        '{"base_url":"https://example.test","headers":{"x-api-key":"[REDACTED]"}}'
    )
    assert attributes["langchain.metadata.padding"] == "x" * 250 + " [RED"
    exported = repr(attributes)
    assert "sk-proj" not in exported
    assert "k-123" not in exported
    assert "dXNlcjpwYXNz" not in exported


def test_configured_redaction_patterns_apply_to_metadata_too(provider: Any, exporter: InMemorySpanExporter) -> None:
    """SPEC §3: values matching the configurable redaction patterns never leave, whatever the setting."""
    handler = OpenTelemetryCallbackHandler(provider, settings=Settings(), redact_patterns=[r"cust-\d+"])
    RunnableLambda(lambda x: x, name="step").invoke(1, {"callbacks": [handler], "metadata": {"customer": "cust-999"}})
    attributes = find_span(_finished(exporter), "step").attributes or {}
    assert attributes["langchain.metadata.customer"] == "[REDACTED]"


# --- odd input from callers -------------------------------------------------------------------------------


def test_non_mapping_metadata_on_model_tool_and_retriever_runs_still_gives_their_spans(
    handler: OpenTelemetryCallbackHandler, exporter: InMemorySpanExporter
) -> None:
    """SPEC §7 "bad input is coerced, cut or dropped": metadata that is not a mapping is dropped, not the run."""
    odd: Any = ["not", "a", "mapping"]
    chat, tool_run, retriever = uuid4(), uuid4(), uuid4()
    handler.on_chat_model_start({}, [[]], run_id=chat, metadata=odd, invocation_params={"model": "m-1"})
    handler.on_llm_end(None, run_id=chat)
    handler.on_tool_start({"name": "lookup"}, "q", run_id=tool_run, metadata=odd)
    handler.on_tool_end("a", run_id=tool_run)
    handler.on_retriever_start({"name": "docs"}, "q", run_id=retriever, metadata="text")
    handler.on_retriever_end([], run_id=retriever)
    assert sorted(s.name for s in _finished(exporter)) == ["chat m-1", "execute_tool lookup", "retrieval docs"]
    assert all(not key.startswith("langchain.metadata.") for s in _finished(exporter) for key in s.attributes or {})


def test_odd_metadata_and_unhashable_tags_on_a_chain_keep_its_span(
    handler: OpenTelemetryCallbackHandler, exporter: InMemorySpanExporter
) -> None:
    """SPEC §7: a chain whose metadata is a list or whose tags hold a list still gets its span (and children)."""
    odd_metadata: Any = ["not", "a", "mapping"]
    odd_tags: Any = ["prod", ["nested"]]
    first, second = uuid4(), uuid4()
    handler.on_chain_start({"name": "a"}, {}, run_id=first, metadata=odd_metadata)
    handler.on_chain_end({}, run_id=first)
    handler.on_chain_start({"name": "b"}, {}, run_id=second, tags=odd_tags)
    handler.on_chain_end({}, run_id=second)
    spans = _finished(exporter)
    assert sorted(s.name for s in spans) == ["a", "b"]
    assert (find_span(spans, "b").attributes or {})["langchain.tag.prod"] is True


# --- command line -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "status", "message"),
    [
        # A bad URL is a bad argument: argparse's status 2 (docs/cli.md).
        (
            ["traces", "--jaeger", "not-a-url"],
            2,
            "lc-otel traces: error: argument --jaeger: not an http(s) URL: 'not-a-url'",
        ),
        (
            ["traces", "--jaeger", "http://[::1"],
            2,
            "lc-otel traces: error: argument --jaeger: not a valid URL: 'http://[::1'",
        ),
        (
            ["traces", "--jaeger", "file:///etc"],
            2,
            "lc-otel traces: error: argument --jaeger: not an http(s) URL: 'file:///etc'",
        ),
        (
            ["traces", "--jaeger", "http://127.0.0.1:1", "--since", "9" * 30 + "d"],
            1,
            "lc-otel: cannot reach Jaeger at http://127.0.0.1:1:",
        ),
        (
            ["demo", "--endpoint", "http://[::1"],
            2,
            "lc-otel demo: error: argument --endpoint: not a valid URL: 'http://[::1'",
        ),
    ],
)
def test_cli_errors_are_one_line_and_a_non_zero_exit(
    args: list[str], status: int, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """SPEC §5: bad arguments, an unreachable server: "one clear line and a non-zero exit, no traceback"."""
    assert main(args) == status
    err = capsys.readouterr().err
    assert err.startswith(message)
    assert len(err.strip().splitlines()) == 1


# --- retries ----------------------------------------------------------------------------------------------


def test_with_retry_records_its_retries_as_events_with_the_attempt_number(
    handler: OpenTelemetryCallbackHandler, exporter: InMemorySpanExporter
) -> None:
    """SPEC §3 "retries as ``langchain.retry`` with the attempt number": ``with_retry`` never calls ``on_retry``.

    LangChain marks attempts 2, 3, ... with the structural tag ``retry:attempt:N`` (dropped from the tags);
    the retrying run's span gets one ``langchain.retry`` event per failed attempt, like ``on_retry`` gives.
    """
    attempts = iter([ValueError("flaky"), ValueError("flaky"), None])

    def flaky(x: int) -> int:
        error = next(attempts)
        if error is not None:
            raise error
        return x

    retrying = RunnableLambda(flaky).with_retry(stop_after_attempt=3, wait_exponential_jitter=False)
    assert retrying.invoke(1, {"callbacks": [handler]}) == 1

    spans = _finished(exporter)
    root = next(s for s in spans if s.parent is None)
    retries = [e for e in root.events if e.name == "langchain.retry"]
    assert [dict(e.attributes or {}) for e in retries] == [
        {"langchain.retry.attempt": 1},
        {"langchain.retry.attempt": 2},
    ]


def test_basic_authorization_in_free_text_is_redacted():
    """An ``Authorization: Basic ...`` header pasted into captured text never leaves the process."""
    from lc_otel._attributes.content import Redactor

    text = Redactor().text("curl -H 'Authorization: Basic dXNlcjpwYXNzd29yZA==' https://example.test")
    assert "dXNlcjpwYXNzd29yZA" not in text
    assert "[REDACTED]" in text


def test_demo_resolves_the_endpoint_like_configure(monkeypatch: pytest.MonkeyPatch):
    """``lc-otel demo`` honours LC_OTEL_ENDPOINT and picks the protocol by configure()'s rule (4317 is gRPC)."""
    from lc_otel._cli.demo import resolve_protocol
    from lc_otel._export import configure as _configure

    assert resolve_protocol("http://localhost:4317", None) == "grpc"
    assert resolve_protocol("http://localhost:4318", None) == "http/protobuf"
    assert resolve_protocol("http://collector:55681", None) == "http/protobuf"
    monkeypatch.setenv("LC_OTEL_ENDPOINT", "http://localhost:4317")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_HEADERS", "authorization=Bearer%20t")
    target = _configure.resolve_target(None, None)
    assert (target.protocol, target.endpoint) == ("grpc", "http://localhost:4317")
    assert target.headers == {"authorization": "Bearer t"}

"""lc_otel.testing: capture_spans(), the lc_otel_spans fixture, the fake chat model and reset()."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from langchain_core.messages import AIMessageChunk
from langchain_core.runnables import RunnableLambda, RunnableParallel
from langchain_core.tools import tool
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from lc_otel import OpenTelemetryCallbackHandler
from lc_otel._internal_errors import report_internal_error
from lc_otel._propagation import install as propagation
from lc_otel._settings import Settings
from lc_otel.testing import (
    CapturedSpans,
    FakeChatModel,
    assert_span_trees,
    capture_spans,
    find_span,
    reply,
    reset,
    span_trees,
)

CHAT = "chat fake-model-1"


@tool
def add_one(a: int) -> int:
    """Add one to a number."""
    return a + 1


def _chain(model: FakeChatModel | None = None) -> RunnableLambda[str, object]:
    llm = model or FakeChatModel(responses=[reply("Hi there", input_tokens=12, output_tokens=2)])

    def app(question: str) -> object:
        prepared = RunnableLambda(str.upper).with_config(run_name="prepare").invoke(question)
        return llm.invoke(prepared)

    return RunnableLambda(app, name="app")


def test_capture_spans_traces_runs_started_in_the_block_without_callbacks() -> None:
    chain = _chain()
    chain.invoke("outside")  # before the block: not captured
    with capture_spans() as captured:
        chain.invoke("hello")
    chain.invoke("after")  # after it: not captured either

    captured.assert_shape(("app", ["prepare", CHAT]))
    root = captured.tree()
    assert [node.name for node in root.walk()] == ["app", "prepare", CHAT]
    chat = root.find(CHAT)
    assert chat.span.parent is not None
    assert root.span.context is not None
    assert chat.span.parent.span_id == root.span.context.span_id
    assert {k: v for k, v in chat.attributes.items() if k.startswith("gen_ai.")} == {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "fake",
        "gen_ai.request.model": "fake-model-1",
        "gen_ai.response.model": "fake-model-1",
        "gen_ai.response.id": "resp-1",
        "gen_ai.response.finish_reasons": ("stop",),
        "gen_ai.usage.input_tokens": 12,
        "gen_ai.usage.output_tokens": 2,
    }
    assert captured.find(CHAT) is chat.span
    assert len(captured.spans) == 3


def test_tree_as_nested_dicts() -> None:
    with capture_spans() as captured:
        RunnableLambda(lambda x: x, name="only").invoke("x")
    (tree,) = captured.trees()
    assert tree.as_dict() == {
        "name": "only",
        "attributes": tree.attributes,
        "status": "UNSET",
        "children": [],
    }
    assert tree.attributes["langchain.run.type"] == "chain"


async def test_capture_spans_around_async_code_and_parallel_branches() -> None:
    model = FakeChatModel(responses=[reply("one two")])
    branches = RunnableParallel(a=RunnableLambda(lambda x: x, name="a"), b=RunnableLambda(lambda x: x, name="b"))
    with capture_spans() as captured:
        await asyncio.gather(*(_chain(model).ainvoke(str(i)) for i in range(3)))
        chunks = [chunk async for chunk in model.astream("hi")]
        branches.with_config(run_name="both").invoke("x")  # branches run in LangChain's threads

    assert "".join(str(chunk.content) for chunk in chunks) == "one two"
    assert_span_trees(
        captured.spans,
        *[("app", ["prepare", CHAT])] * 3,
        CHAT,
        ("both", ["b", "a"]),
        ordered=False,
    )
    assert len(captured.find_all(CHAT)) == 4


def test_a_run_given_an_lc_otel_handler_explicitly_is_traced_by_that_handler() -> None:
    theirs = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(theirs))
    with capture_spans() as captured:
        _chain().invoke("x", {"callbacks": [OpenTelemetryCallbackHandler(provider, settings=Settings())]})
        _chain().invoke("y", {"callbacks": [captured.handler]})
    assert_span_trees(theirs.get_finished_spans(), ("app", ["prepare", CHAT]))
    captured.assert_shape(("app", ["prepare", CHAT]))


def test_nested_blocks_capture_into_the_innermost() -> None:
    with capture_spans() as outer:
        RunnableLambda(lambda x: x, name="first").invoke("x")
        with capture_spans() as inner:
            RunnableLambda(lambda x: x, name="second").invoke("x")
        RunnableLambda(lambda x: x, name="third").invoke("x")
    outer.assert_shape("first", "third")
    inner.assert_shape("second")


def test_capture_options_reach_the_handler() -> None:
    with capture_spans(capture_content=True) as captured:
        FakeChatModel(responses=[reply("secret answer")]).invoke("question")
    assert "secret answer" in str(captured.find(CHAT).attributes)
    with capture_spans() as default:
        FakeChatModel(responses=[reply("secret answer")]).invoke("question")
    assert "secret answer" not in str(default.find(CHAT).attributes)


def test_failed_lookups_and_shapes_say_what_there_is() -> None:
    with capture_spans() as captured:
        _chain().invoke("x")
        _chain().invoke("y")
    with pytest.raises(AssertionError, match=r"2 spans named 'app' among \['app', 'app', 'chat"):
        captured.find("app")
    with pytest.raises(AssertionError, match="0 spans named 'missing'"):
        find_span(captured.spans, "missing")
    with pytest.raises(AssertionError, match="2 span trees"):
        captured.tree()
    with pytest.raises(AssertionError) as differ:
        captured.assert_shape(("app", ["prepare"]), "app")
    assert str(differ.value) == (
        "span trees differ\n"
        "expected:\napp\n  prepare\napp\n"
        "actual:\napp\n  prepare\n  chat fake-model-1\napp\n  prepare\n  chat fake-model-1"
    )
    with pytest.raises(AssertionError, match="span trees differ"):
        captured.assert_shape(("app", [CHAT, "prepare"]), ("app", [CHAT, "prepare"]))  # siblings in start order
    captured.assert_shape(("app", [CHAT, "prepare"]), ("app", [CHAT, "prepare"]), ordered=False)
    captured.clear()
    assert captured.spans == ()
    captured.assert_shape()


def test_a_span_whose_parent_was_not_captured_is_a_root() -> None:
    with capture_spans() as captured:
        _chain().invoke("x")
    spans = [span for span in captured.spans if span.name != "app"]
    assert [node.shape() for node in span_trees(spans)] == [("prepare", []), (CHAT, [])]


def test_lc_otel_spans_fixture(lc_otel_spans: CapturedSpans) -> None:
    _chain().invoke("x")
    lc_otel_spans.assert_shape(("app", ["prepare", CHAT]))


def test_the_pytest_plugin_is_registered_by_the_installed_package(tmp_path: Path) -> None:
    """A project that installs lc-otel gets the fixture without a conftest."""
    (tmp_path / "test_mine.py").write_text(
        textwrap.dedent(
            """
            from langchain_core.runnables import RunnableLambda

            def test_traced(lc_otel_spans):
                RunnableLambda(lambda x: x, name="mine").invoke(1)
                lc_otel_spans.assert_shape("mine")
            """
        ),
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "OTEL_", "LC_OTEL_"))}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_mine.py"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed" in done.stdout


def test_the_testing_module_does_not_import_pytest() -> None:
    code = "import sys, lc_otel.testing; print('pytest' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert done.stdout.strip() == "False"


# --- the fake chat model ----------------------------------------------------------------------------------


def test_fake_model_streams_tool_calls_usage_and_finish_reason() -> None:
    model = FakeChatModel(
        responses=[
            reply("", input_tokens=20, output_tokens=5, tool_calls=[{"name": "add_one", "args": {"a": 1}, "id": "c1"}])
        ],
        response_model="fake-model-1-2025",
    )
    chunks = list(model.stream("1+1?"))
    merged = chunks[0]
    for chunk in chunks[1:]:
        merged += chunk
    assert isinstance(merged, AIMessageChunk)
    assert merged.tool_calls == [{"name": "add_one", "args": {"a": 1}, "id": "c1", "type": "tool_call"}]
    assert merged.usage_metadata == {"input_tokens": 20, "output_tokens": 5, "total_tokens": 25}
    assert merged.response_metadata["finish_reason"] == "tool_calls"
    assert merged.response_metadata["model_name"] == "fake-model-1-2025"


def test_fake_model_streams_by_word_or_character_and_cycles_its_script() -> None:
    words = FakeChatModel(responses=[reply("a bc"), reply("d")])
    assert [c.content for c in words.stream("x")] == ["a", " ", "bc", ""]
    assert [c.content for c in words.stream("x")] == ["d", ""]
    assert words.invoke("x").content == "a bc"
    assert words.calls == 3
    characters = FakeChatModel(responses=[reply("abc")], chunk_by="character")
    assert [c.content for c in characters.stream("x")] == ["a", "b", "c", ""]


def test_fake_model_reports_a_scripted_finish_reason_and_raises_a_scripted_error() -> None:
    model = FakeChatModel(responses=[reply("cut", finish_reason="length"), TimeoutError("provider timed out")])
    with capture_spans() as captured:
        model.invoke("x")
        with pytest.raises(TimeoutError, match="provider timed out"):
            model.invoke("x")
    first, second = captured.find_all(CHAT)
    assert first.attributes["gen_ai.response.finish_reasons"] == ("length",)
    assert second.status.status_code is StatusCode.ERROR
    assert second.attributes["error.type"] == "TimeoutError"


# --- reset --------------------------------------------------------------------------------------------------


@pytest.mark.internal_errors
def test_reset_unpatches_langchain_and_forgets_logged_errors(caplog: pytest.LogCaptureFixture) -> None:
    OpenTelemetryCallbackHandler(TracerProvider(), settings=Settings())
    assert propagation.is_installed()
    report_internal_error("test_testing", ValueError("once"))
    try:
        reset()
        assert not propagation.is_installed()
        caplog.clear()
        report_internal_error("test_testing", ValueError("again"))
        assert "again" in caplog.text  # logged again: the first one was forgotten
        OpenTelemetryCallbackHandler(TracerProvider(), settings=Settings())
        assert propagation.is_installed()  # the next handler turns propagation on again, as in a fresh process
    finally:
        propagation.reset()

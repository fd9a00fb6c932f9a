"""Every way of running a chain gives one correct span tree per input."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from langchain_core.language_models.fake_chat_models import FakeListChatModel
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import RunnableConfig, RunnableLambda, RunnableParallel
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from lc_otel import OpenTelemetryCallbackHandler
from lc_otel.testing import assert_span_trees
from tests.support.spans import parent_id, span_id, trace_id

SIMPLE_TREE = (
    "RunnableSequence",
    [("ChatPromptTemplate", []), ("StrOutputParser", []), ("chat", [])],
)


def simple_chain() -> Any:
    prompt = ChatPromptTemplate.from_messages([("system", "Be brief."), ("human", "{question}")])
    return prompt | FakeListChatModel(responses=["Paris is the capital."]) | StrOutputParser()


def config(handler: OpenTelemetryCallbackHandler) -> RunnableConfig:
    return RunnableConfig(callbacks=[handler])


def assert_one_simple_tree(exporter: InMemorySpanExporter) -> None:
    spans = exporter.get_finished_spans()
    assert_span_trees(spans, SIMPLE_TREE, ordered=False)
    assert len({trace_id(s) for s in spans}) == 1


def test_sync_invoke_gives_one_nested_tree(handler: OpenTelemetryCallbackHandler, exporter: InMemorySpanExporter):
    """invoke: a root chain span with the prompt, model and parser spans as children, all ended."""
    assert simple_chain().invoke({"question": "Capital of France?"}, config(handler)) == "Paris is the capital."
    assert_one_simple_tree(exporter)
    spans = {s.name: s for s in exporter.get_finished_spans()}
    assert spans["chat"].kind is SpanKind.CLIENT
    assert spans["RunnableSequence"].kind is SpanKind.INTERNAL
    root = spans["RunnableSequence"]
    assert root.attributes is not None
    assert root.attributes["langchain.run.type"] == "chain"
    assert "langchain.run.parent_id" not in root.attributes
    child = spans["ChatPromptTemplate"]
    assert child.attributes is not None
    assert child.attributes["langchain.run.type"] == "prompt"
    assert child.attributes["langchain.run.parent_id"] == root.attributes["langchain.run.id"]
    assert spans["StrOutputParser"].attributes["langchain.run.type"] == "parser"
    assert spans["chat"].attributes["langchain.run.type"] == "chat_model"
    assert spans["chat"].attributes["langchain.run.name"] == "FakeListChatModel"
    assert handler.open_runs == 0


async def test_async_invoke(handler: OpenTelemetryCallbackHandler, exporter: InMemorySpanExporter):
    """ainvoke gives the same tree as invoke."""
    assert await simple_chain().ainvoke({"question": "q"}, config(handler)) == "Paris is the capital."
    assert_one_simple_tree(exporter)


def test_stream(handler: OpenTelemetryCallbackHandler, exporter: InMemorySpanExporter):
    """stream gives the same tree, and the model span counts its chunks."""
    chunks = list(simple_chain().stream({"question": "q"}, config(handler)))
    assert "".join(chunks) == "Paris is the capital."
    assert_one_simple_tree(exporter)
    chat = next(s for s in exporter.get_finished_spans() if s.name == "chat")
    assert chat.attributes is not None
    assert chat.attributes["langchain.stream.chunk_count"] == len("Paris is the capital.")


async def test_astream(handler: OpenTelemetryCallbackHandler, exporter: InMemorySpanExporter):
    """astream gives the same tree."""
    chunks = [c async for c in simple_chain().astream({"question": "q"}, config(handler))]
    assert "".join(chunks) == "Paris is the capital."
    assert_one_simple_tree(exporter)


def test_batch_gives_sibling_trees(handler: OpenTelemetryCallbackHandler, exporter: InMemorySpanExporter):
    """batch runs inputs in a thread pool: one separate trace per input, never one nested in another."""
    results = simple_chain().batch([{"question": str(i)} for i in range(5)], config(handler))
    assert len(results) == 5
    spans = exporter.get_finished_spans()
    assert_span_trees(spans, *[SIMPLE_TREE] * 5, ordered=False)
    assert len({trace_id(s) for s in spans}) == 5


async def test_abatch_gives_sibling_trees(handler: OpenTelemetryCallbackHandler, exporter: InMemorySpanExporter):
    """abatch: one separate trace per input."""
    await simple_chain().abatch([{"question": str(i)} for i in range(4)], config(handler))
    spans = exporter.get_finished_spans()
    assert_span_trees(spans, *[SIMPLE_TREE] * 4, ordered=False)
    assert len({trace_id(s) for s in spans}) == 4


def test_runnable_parallel_branches_share_the_parent(
    handler: OpenTelemetryCallbackHandler, exporter: InMemorySpanExporter
):
    """RunnableParallel runs branches in threads; each branch is a child of the parallel span."""
    parallel = RunnableParallel(
        upper=RunnableLambda(lambda x: x.upper()).with_config(run_name="upper"),
        lower=RunnableLambda(lambda x: x.lower()).with_config(run_name="lower"),
    )
    chain = RunnableLambda(lambda x: x["text"]).with_config(run_name="pick") | parallel
    assert chain.invoke({"text": "Hi"}, config(handler)) == {"upper": "HI", "lower": "hi"}
    expected = (
        "RunnableSequence",
        [("pick", []), ("RunnableParallel<upper,lower>", [("upper", []), ("lower", [])])],
    )
    assert_span_trees(exporter.get_finished_spans(), expected, ordered=False)


def test_nested_invoke_inside_a_lambda(handler: OpenTelemetryCallbackHandler, exporter: InMemorySpanExporter):
    """A chain invoked inside a RunnableLambda (config passed on) nests under the lambda's span."""
    inner = simple_chain()

    def outer_step(question: str, config: RunnableConfig) -> str:
        return str(inner.invoke({"question": question}, config))

    outer = RunnableLambda(outer_step).with_config(run_name="outer_step")
    outer.invoke("q", config(handler))
    assert_span_trees(exporter.get_finished_spans(), ("outer_step", [SIMPLE_TREE]), ordered=False)


def test_user_thread_pool(handler: OpenTelemetryCallbackHandler, exporter: InMemorySpanExporter):
    """Chains run from the application's own threads trace independently and completely."""
    chain = simple_chain()
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(lambda i: chain.invoke({"question": str(i)}, config(handler)), range(8)))
    spans = exporter.get_finished_spans()
    assert_span_trees(spans, *[SIMPLE_TREE] * 8, ordered=False)
    assert handler.open_runs == 0


async def test_astream_events_v2(handler: OpenTelemetryCallbackHandler, exporter: InMemorySpanExporter):
    """The handler rides along with astream_events: the events flow and the tree is complete."""
    tokens = []
    async for event in simple_chain().astream_events({"question": "q"}, config(handler), version="v2"):
        if event["event"] == "on_chat_model_stream":
            tokens.append(event["data"]["chunk"].content)
    assert "".join(tokens) == "Paris is the capital."
    assert_one_simple_tree(exporter)


async def test_500_concurrent_ainvoke_give_500_correct_trees(provider: TracerProvider, exporter: InMemorySpanExporter):
    """Concurrent requests never mix: 500 ainvoke under gather give 500 separate, complete trees."""
    handler = OpenTelemetryCallbackHandler(provider)
    chain = simple_chain()
    await asyncio.gather(*(chain.ainvoke({"question": str(i)}, config(handler)) for i in range(500)))
    spans = exporter.get_finished_spans()
    assert len(spans) == 2000
    assert len({trace_id(s) for s in spans}) == 500
    assert_span_trees(spans, *[SIMPLE_TREE] * 500, ordered=False)
    # every child sits in its parent's trace
    by_id = {span_id(s): s for s in spans}
    for span in spans:
        parent = parent_id(span)
        if parent is not None:
            assert trace_id(by_id[parent]) == trace_id(span)
    assert handler.open_runs == 0


async def test_two_sequential_ainvoke_in_one_task_give_two_traces(
    handler: OpenTelemetryCallbackHandler, exporter: InMemorySpanExporter
):
    """Nothing of the first call stays current for the second one."""
    chain = simple_chain()
    await chain.ainvoke({"question": "1"}, config(handler))
    await chain.ainvoke({"question": "2"}, config(handler))
    spans = exporter.get_finished_spans()
    assert len({trace_id(s) for s in spans}) == 2
    assert_span_trees(spans, *[SIMPLE_TREE] * 2, ordered=False)


def test_root_run_nests_under_the_callers_span(
    handler: OpenTelemetryCallbackHandler, exporter: InMemorySpanExporter, provider: TracerProvider
):
    """A root run is parented to the span current at its start, e.g. the service's request span."""
    tracer = provider.get_tracer("app")
    with tracer.start_as_current_span("POST /chat") as request_span:
        simple_chain().invoke({"question": "q"}, config(handler))
        from opentelemetry import trace

        assert trace.get_current_span() is request_span  # the caller's context is untouched
    assert_span_trees(exporter.get_finished_spans(), ("POST /chat", [SIMPLE_TREE]), ordered=False)


def test_raw_thread_with_handler(handler: OpenTelemetryCallbackHandler, exporter: InMemorySpanExporter):
    """A chain run in a raw thread is traced completely."""
    thread = threading.Thread(target=lambda: simple_chain().invoke({"question": "q"}, config(handler)))
    thread.start()
    thread.join()
    assert_one_simple_tree(exporter)


def test_constructor_callback_traces_the_model(handler: OpenTelemetryCallbackHandler, exporter: InMemorySpanExporter):
    """A handler given to the model's constructor traces that model's runs."""
    model = FakeListChatModel(responses=["ok"], callbacks=[handler])
    assert model.invoke("hi").content == "ok"
    spans = exporter.get_finished_spans()
    assert [s.name for s in spans] == ["chat"]


def test_the_handler_does_not_switch_models_to_streaming(
    handler: OpenTelemetryCallbackHandler, exporter: InMemorySpanExporter
):
    """invoke stays invoke: the model span reports no streamed chunks (research §2.7)."""
    simple_chain().invoke({"question": "q"}, config(handler))
    chat = next(s for s in exporter.get_finished_spans() if s.name == "chat")
    assert chat.attributes is not None
    assert "langchain.stream.chunk_count" not in chat.attributes

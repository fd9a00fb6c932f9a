"""``lc-otel demo``: a small offline LangChain app, traced, and its trace drawn in the terminal.

The app needs no network and no API key: a scripted chat model reports token usage like a real provider.
It retrieves context, asks the model (which calls two tools, one of which fails on purpose), and streams an
answer. The spans go to an OTLP-JSON-lines file by default, or to an OTLP endpoint.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Sequence
from typing import Any, Final

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.messages import BaseMessage
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables import Runnable, RunnableConfig, RunnableLambda
from langchain_core.tools import tool
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    SimpleSpanProcessor,
    SpanExporter,
    SpanExportResult,
)
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from lc_otel._cli.http import display_url
from lc_otel._cli.terminal import quiet_logs
from lc_otel._cli.traces.sdk import spans_from_sdk
from lc_otel._cli.traces.tree import write_traces
from lc_otel._export import configure as _configure
from lc_otel._export.endpoints import DEFAULT_EXPORT_FILE
from lc_otel.handler import OpenTelemetryCallbackHandler
from lc_otel.testing import FakeChatModel, reply

LC_OTEL_JAEGER_UI: Final = "LC_OTEL_JAEGER_UI"
"""Base URL of the Jaeger UI in the link ``lc-otel demo`` prints. Default ``http://localhost:16686``."""
DEFAULT_JAEGER_UI: Final = "http://localhost:16686"
DEFAULT_SERVICE: Final = "lc-otel-demo"
DEMO_TAG: Final = "demo"
_EXPORT_TIMEOUT_SECONDS: Final = 5

_QUESTION: Final = "Should I bring an umbrella to the Paris office tomorrow, and where is my order 4711?"
_HANDBOOK: Final = (
    Document("The Paris office is at 12 Rue de la Paix; visitors sign in at the front desk.", id="office-paris"),
    Document("Orders ship within two days; order status comes from the order service.", id="orders"),
    Document("Umbrellas are available at every office reception.", id="umbrellas"),
    Document("The Berlin office closes at 18:00 on Fridays.", id="office-berlin"),
)


class HandbookRetriever(BaseRetriever):
    """Finds handbook passages that share words with the question."""

    documents: list[Document]
    k: int = 2

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
        words = set(re.findall(r"[a-z]+", query.lower()))

        def overlap(doc: Document) -> int:
            return len(words & set(re.findall(r"[a-z]+", doc.page_content.lower())))

        ranked = sorted(self.documents, key=overlap, reverse=True)
        return [doc for doc in ranked[: self.k] if overlap(doc) > 0]


@tool
def get_weather(city: str) -> str:
    """Tomorrow's weather forecast for a city."""
    return f"{city}: light rain, 14 °C"


@tool
def order_status(order_id: str) -> str:
    """The shipping status of an order."""
    # The demo's failing tool: its span shows status ERROR with the exception.
    raise ConnectionError(f"order service unavailable while looking up {order_id}")


def build_app() -> Runnable[str, str]:
    """The demo app: retrieve, plan with tools, then stream the answer."""
    model = FakeChatModel(
        responses=[
            reply(
                "",
                input_tokens=86,
                output_tokens=31,
                tool_calls=[
                    {"name": "get_weather", "args": {"city": "Paris"}, "id": "call_weather_1"},
                    {"name": "order_status", "args": {"order_id": "4711"}, "id": "call_order_1"},
                ],
            ),
            reply(
                "Yes, take an umbrella: light rain is expected in Paris. "
                "I could not reach the order service, please try again later.",
                input_tokens=142,
                output_tokens=24,
            ),
        ],
        model="scripted-chat-1",
        provider="lc-otel-demo",
        response_id=None,
    )
    retriever = HandbookRetriever(documents=list(_HANDBOOK)).with_config(run_name="handbook")
    prompt = ChatPromptTemplate.from_messages(
        [
            ("system", "You are a helpful office assistant. Context:\n{context}"),
            ("human", "{question}"),
            ("placeholder", "{tool_results}"),
        ]
    )
    tools = {t.name: t for t in (get_weather, order_status)}
    planner = (prompt | model.bind_tools(list(tools.values()))).with_config(run_name="plan")
    answerer = (prompt | model).with_config(run_name="answer")

    def assistant(question: str, config: RunnableConfig) -> str:
        docs = retriever.invoke(question, config)
        inputs: dict[str, Any] = {
            "question": question,
            "context": "\n".join(doc.page_content for doc in docs),
            "tool_results": [],
        }
        plan = planner.invoke(inputs, config)
        results: list[BaseMessage] = [plan]
        for call in getattr(plan, "tool_calls", []):
            try:
                results.append(tools[call["name"]].invoke(call, config))
            except ConnectionError:
                continue  # the answer says the lookup failed; the tool's span records the error
        inputs["tool_results"] = results
        return "".join(str(chunk.content) for chunk in answerer.stream(inputs, config))

    return RunnableLambda(assistant, name="office-assistant")


class _RecordingExporter(SpanExporter):
    """Passes spans on and remembers whether any export failed, so the demo can say so in one line."""

    def __init__(self, inner: SpanExporter) -> None:
        self._inner = inner
        self.failed = False

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        try:
            result = self._inner.export(spans)
        except Exception:  # noqa: BLE001 - older OTLP exporters (1.27) raise on a refused connection
            result = SpanExportResult.FAILURE
        if result is not SpanExportResult.SUCCESS:
            self.failed = True
        return result

    def shutdown(self) -> None:
        self._inner.shutdown()

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return self._inner.force_flush(timeout_millis)


def resolve_protocol(endpoint: str, protocol: str | None) -> str:
    """The OTLP protocol, chosen exactly as :func:`lc_otel.configure` chooses it (4317 means gRPC)."""
    return _configure.resolve_target(endpoint, protocol).protocol or "http/protobuf"


def run(endpoint: str | None, protocol: str | None, tags: Sequence[str]) -> int:
    """Run the demo app traced, draw its trace, and say where the spans went.

    Args:
        endpoint: OTLP endpoint; ``None`` uses ``OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT``, and when that is unset
            too, writes an OTLP-JSON-lines file (``LC_OTEL_EXPORT_FILE``, default ``lc-otel-spans.jsonl``).
        protocol: ``grpc`` or ``http/protobuf``; ``None`` picks one from the environment or the endpoint.
        tags: Extra tags for the run, besides ``demo``.

    Returns:
        The exit status: 0, or 1 when the spans could not be written or exported.
    """
    out = sys.stdout
    service = os.environ.get("OTEL_SERVICE_NAME") or DEFAULT_SERVICE
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    memory = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    # The same resolution as configure(): LC_OTEL_ENDPOINT, OTEL_* endpoints, protocols and headers.
    target = _configure.resolve_target(endpoint, protocol)
    if endpoint and target.protocol is None:
        print(f"lc-otel: not an OTLP endpoint: '{display_url(endpoint)}'", file=sys.stderr)
        return 1
    if target.protocol is not None:
        destination = f"{display_url(target.endpoint or '')} (OTLP {target.protocol})"  # no user:password@
        try:
            inner = _configure.otlp_exporter(target, _EXPORT_TIMEOUT_SECONDS)
        except ValueError:  # the exporters parse the URL up front (a broken IPv6 host, a bad port)
            print(f"lc-otel: not an OTLP endpoint: '{display_url(target.endpoint or '')}'", file=sys.stderr)
            return 1
        exporter = _RecordingExporter(inner)
    else:
        path = target.path or DEFAULT_EXPORT_FILE
        destination = path
        from lc_otel._export.file import EncoderMissingError, open_file_exporter

        try:
            exporter = _RecordingExporter(open_file_exporter(path))
        except OSError as exc:
            print(f"lc-otel: cannot write spans to {path}: {exc.strerror or exc}", file=sys.stderr)
            return 1
        except EncoderMissingError as exc:
            print(f"lc-otel: cannot write spans to {path}: {exc}", file=sys.stderr)
            return 1
    provider.add_span_processor(BatchSpanProcessor(exporter))

    run_tags = list(dict.fromkeys([DEMO_TAG, *tags]))
    handler = OpenTelemetryCallbackHandler(tracer_provider=provider)
    answer = build_app().invoke(_QUESTION, {"callbacks": [handler], "tags": run_tags})
    # The SDK's own export and retry loggers: a failed export is the demo's one line.
    with quiet_logs("opentelemetry.exporter", "opentelemetry.sdk.trace.export", "opentelemetry.sdk._shared_internal"):
        provider.force_flush()
        provider.shutdown()

    spans = spans_from_sdk(memory.get_finished_spans())
    out.write(f"lc-otel demo: an offline LangChain app, traced as service {service!r}, tags {run_tags}\n\n")
    write_traces([spans], out)
    out.write(f"\nanswer: {answer}\n")
    out.write("(order_status fails on purpose, to show an error span.)\n\n")
    trace_id = spans[0].trace_id if spans else ""
    if exporter.failed:
        print(f"lc-otel: could not export the spans to {destination}", file=sys.stderr)
        return 1
    if target.protocol is not None:
        ui = display_url((os.environ.get(LC_OTEL_JAEGER_UI) or DEFAULT_JAEGER_UI).rstrip("/"))
        out.write(f"Spans exported to {destination}.\nJaeger UI: {ui}/trace/{trace_id}\n")
    else:
        out.write(
            f"Spans written to {destination} (OTLP JSON lines).\n"
            f"Find them again: lc-otel traces --file {destination} --tag {DEMO_TAG}\n"
        )
    return 0

"""The measured tracing configurations, and the span exporters behind them.

- ``none``: no callbacks at all.
- ``empty``: a callback handler that does nothing (LangChain's dispatch cost alone).
- ``raw``: the floor of any OpenTelemetry tracer: an empty handler that starts and ends one plain SDK span per
  run, parented by ``run_id``, with as many attributes as lc-otel sets (``raw-bare``: no attributes at all).
- ``lc-otel``: ``OpenTelemetryCallbackHandler`` with default settings (content capture off);
  ``lc-otel-content``: the same with content capture on; ``lc-otel-metrics``: the same recording the GenAI
  metrics into an SDK MeterProvider (a reader that collects only when asked: recording is measured, export
  is not, as for spans); ``lc-otel-metrics-own``: the same into a MeterProvider whose histograms discard what
  they are given, so what it adds is lc-otel's own metrics work, the SDK's ``record()`` left out.
- ``lc-otel-otlp``: ``lc-otel`` exporting for real over OTLP/HTTP to a local sink (the export cost).

Every handler has ``run_inline = True``, like lc-otel's: a sync handler without it is dispatched to a thread
pool in async code, which would measure the pool, not the handler.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler
from opentelemetry import metrics as metrics_api
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.trace import Span, SpanKind


class DroppingExporter(SpanExporter):
    """Counts the spans and attributes it is given, then drops them: export cost excluded."""

    def __init__(self) -> None:
        self.spans = 0
        self.attributes = 0
        self.events = 0

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self.spans += len(spans)
        for span in spans:
            self.attributes += len(span.attributes or ())
            self.events += len(span.events)
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        """Nothing to release."""

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


class EmptyHandler(BaseCallbackHandler):
    """Receives every callback and does nothing."""

    run_inline = True


_MODEL: Final = "bench-model-1"
# The attributes lc-otel adds to model spans and to the root chain on these workloads, as constants: the
# floor pays the SDK's cost of storing them, not the cost of finding them.
_MODEL_START: Final = {"gen_ai.operation.name": "chat", "gen_ai.provider.name": "fake", "gen_ai.request.model": _MODEL}
_MODEL_END: Final = {
    "gen_ai.response.model": _MODEL,
    "gen_ai.response.finish_reasons": ("stop",),
    "gen_ai.usage.input_tokens": 12,
    "gen_ai.usage.output_tokens": 200,
}
_CHAIN_END: Final = {
    "langchain.usage.input_tokens": 12,
    "langchain.usage.output_tokens": 200,
    "langchain.usage.total_tokens": 212,
}


class RawSpansHandler(BaseCallbackHandler):
    """The minimum any OpenTelemetry tracer of LangChain must do: one SDK span per run, parented by run id.

    With ``attributes=True`` it sets as many attributes per span as lc-otel does on these workloads, from
    values at hand (no lookups or coercion), so that the floor includes the SDK's cost of storing them.
    """

    run_inline = True

    def __init__(self, provider: TracerProvider, *, attributes: bool) -> None:
        super().__init__()
        self._tracer = provider.get_tracer("bench.raw")
        self._spans: dict[UUID, Span] = {}
        self._lock = threading.Lock()
        self._attributes = attributes

    def _start(
        self, name: str, run_type: str, run_id: UUID, parent_run_id: UUID | None, extra: Mapping[str, Any]
    ) -> None:
        parent = self._spans.get(parent_run_id) if parent_run_id is not None else None
        context = trace.set_span_in_context(parent) if parent is not None else None
        attributes: dict[str, Any] | None = None
        if self._attributes:
            attributes = {"langchain.run.id": str(run_id), "langchain.run.type": run_type, "langchain.run.name": name}
            if parent_run_id is not None:
                attributes["langchain.run.parent_id"] = str(parent_run_id)
            attributes.update(extra)
        span = self._tracer.start_span(name, context=context, kind=SpanKind.INTERNAL, attributes=attributes)
        with self._lock:
            self._spans[run_id] = span

    def _end(self, run_id: UUID, extra: Mapping[str, Any] | None = None) -> None:
        with self._lock:
            span = self._spans.pop(run_id, None)
        if span is None:
            return
        if extra and self._attributes:
            span.set_attributes(extra)
        span.end()

    def on_chain_start(self, serialized: Any, inputs: Any, *, run_id: UUID, **kwargs: Any) -> None:
        name = kwargs.get("name") or "chain"
        self._start(name, kwargs.get("run_type") or "chain", run_id, kwargs.get("parent_run_id"), {})

    def on_chat_model_start(self, serialized: Any, messages: Any, *, run_id: UUID, **kwargs: Any) -> None:
        self._start(f"chat {_MODEL}", "chat_model", run_id, kwargs.get("parent_run_id"), _MODEL_START)

    def on_tool_start(self, serialized: Any, input_str: str, *, run_id: UUID, **kwargs: Any) -> None:
        name = kwargs.get("name") or "tool"
        extra = {
            "gen_ai.operation.name": "execute_tool",
            "gen_ai.tool.name": name,
            "gen_ai.tool.type": "function",
            "gen_ai.tool.description": serialized.get("description", "") if serialized else "",
        }
        self._start(f"execute_tool {name}", "tool", run_id, kwargs.get("parent_run_id"), extra)

    def on_retriever_start(self, serialized: Any, query: str, *, run_id: UUID, **kwargs: Any) -> None:
        extra = {"gen_ai.operation.name": "retrieval"}
        self._start("retrieval", "retriever", run_id, kwargs.get("parent_run_id"), extra)

    def on_chain_end(self, outputs: Any, *, run_id: UUID, **kwargs: Any) -> None:
        # lc-otel puts subtree token totals on the chains above a model call: here, the root.
        self._end(run_id, _CHAIN_END if kwargs.get("parent_run_id") is None else None)

    def on_llm_end(self, response: Any, *, run_id: UUID, **kwargs: Any) -> None:
        self._end(run_id, _MODEL_END)

    def on_tool_end(self, output: Any, *, run_id: UUID, **kwargs: Any) -> None:
        self._end(run_id)

    def on_retriever_end(self, documents: Any, *, run_id: UUID, **kwargs: Any) -> None:
        self._end(run_id)

    def on_chain_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self._end(run_id)

    def on_llm_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self._end(run_id)

    def on_tool_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self._end(run_id)

    def on_retriever_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self._end(run_id)


@dataclasses.dataclass
class Setup:
    """One configuration, ready to run: the callbacks to pass, and the provider to flush and shut down."""

    callbacks: list[BaseCallbackHandler]
    provider: TracerProvider | None = None
    exporter: DroppingExporter | None = None
    handler: Any = None


def _provider(exporter: SpanExporter) -> TracerProvider:
    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(exporter))
    return provider


class DiscardingMeterProvider(metrics_api.MeterProvider):
    """A MeterProvider (not the API's no-op one, which lc-otel recognises and skips) whose instruments discard."""

    def get_meter(self, name: str, version: str | None = None, schema_url: str | None = None, *args: Any) -> Any:
        return _DiscardingMeter(name)


class _DiscardingMeter(metrics_api.Meter):
    """Hands out the API's no-op instruments: ``record()`` returns at once."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self._noop = metrics_api.NoOpMeter(name)

    def create_counter(self, *args: Any, **kwargs: Any) -> Any:
        return self._noop.create_counter(*args, **kwargs)

    def create_up_down_counter(self, *args: Any, **kwargs: Any) -> Any:
        return self._noop.create_up_down_counter(*args, **kwargs)

    def create_observable_counter(self, *args: Any, **kwargs: Any) -> Any:
        return self._noop.create_observable_counter(*args, **kwargs)

    def create_histogram(self, *args: Any, **kwargs: Any) -> Any:
        return self._noop.create_histogram(*args, **kwargs)

    def create_gauge(self, *args: Any, **kwargs: Any) -> Any:
        return self._noop.create_gauge(*args, **kwargs)

    def create_observable_gauge(self, *args: Any, **kwargs: Any) -> Any:
        return self._noop.create_observable_gauge(*args, **kwargs)

    def create_observable_up_down_counter(self, *args: Any, **kwargs: Any) -> Any:
        return self._noop.create_observable_up_down_counter(*args, **kwargs)


def _lc_otel(
    exporter: SpanExporter, *, capture_content: bool, metrics: str | None = None
) -> tuple[TracerProvider, Any]:
    from lc_otel import OpenTelemetryCallbackHandler
    from lc_otel._settings import Settings

    provider = _provider(exporter)
    meter_provider: Any = None
    if metrics == "sdk":
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import InMemoryMetricReader

        meter_provider = MeterProvider(metric_readers=[InMemoryMetricReader()])
    elif metrics == "discarding":
        meter_provider = DiscardingMeterProvider()
    handler = OpenTelemetryCallbackHandler(
        provider, settings=Settings(capture_content=capture_content), meter_provider=meter_provider
    )
    return provider, handler


def setup(name: str, *, otlp_endpoint: str | None = None) -> Setup:
    """Build configuration ``name`` (one of :data:`CONFIGS`)."""
    if name == "none":
        return Setup([])
    if name == "empty":
        return Setup([EmptyHandler()])
    if name == "lc-otel-otlp":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        if otlp_endpoint is None:
            raise ValueError("lc-otel-otlp needs an OTLP endpoint")
        provider, handler = _lc_otel(OTLPSpanExporter(endpoint=otlp_endpoint), capture_content=False)
        return Setup([handler], provider, None, handler)
    exporter = DroppingExporter()
    if name in ("raw", "raw-bare"):
        provider = _provider(exporter)
        raw = RawSpansHandler(provider, attributes=name == "raw")
        return Setup([raw], provider, exporter, raw)
    if name in ("lc-otel", "lc-otel-content", "lc-otel-metrics", "lc-otel-metrics-own"):
        metrics = {"lc-otel-metrics": "sdk", "lc-otel-metrics-own": "discarding"}.get(name)
        provider, handler = _lc_otel(exporter, capture_content=name == "lc-otel-content", metrics=metrics)
        return Setup([handler], provider, exporter, handler)
    raise ValueError(f"unknown configuration {name!r}")


CONFIGS: Final = (
    "none",
    "empty",
    "raw-bare",
    "raw",
    "lc-otel",
    "lc-otel-content",
    "lc-otel-metrics",
    "lc-otel-metrics-own",
)
"""The configurations timed in every round (``lc-otel-otlp`` is measured separately)."""

Factory = Callable[[str], Setup]

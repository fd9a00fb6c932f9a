"""``GenAITelemetry``: the GenAI metrics (and the inference details event) recorded from the run lifecycle.

The span code calls in at two points: :meth:`GenAITelemetry.start` when a run starts (with the span's start
attributes) and :meth:`GenAITelemetry.end` when it ends. Only runs with a GenAI operation (``chat``,
``text_completion``, ``execute_tool``, ``retrieval``, ``invoke_agent``) are measured; everything a metric
point carries is read from attributes the span code computed anyway, so a measured run costs a few
dictionary reads and the SDK's ``record`` calls, and an unmeasured one a single lookup.

With no MeterProvider anywhere (the API's no-op default) nothing is recorded: the handler gets no
``GenAITelemetry`` at all when the provider is a no-op, and while the global provider is still the API's
placeholder each top-level run start asks whether one was set since (``instrument()`` before
``configure()``); the other runs cost one attribute read.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Mapping, Sequence
from types import ModuleType
from typing import TYPE_CHECKING, Any, Final, Protocol

from opentelemetry import metrics
from opentelemetry._logs import LoggerProvider, NoOpLoggerProvider, get_logger_provider
from opentelemetry.metrics import MeterProvider, NoOpMeterProvider

from lc_otel._attributes import semconv as sc
from lc_otel._attributes.tags_metadata import Attributes
from lc_otel._metrics.events import EventEmitter
from lc_otel._metrics.instruments import TOKEN_TYPE, Instruments
from lc_otel._metrics.options import TelemetryOptions
from lc_otel._metrics.run_telemetry import INFERENCE_OPERATIONS, RunTelemetry
from lc_otel._version import __version__

if TYPE_CHECKING:
    from opentelemetry.context import Context
    from opentelemetry.trace import Span

    from lc_otel._attributes.redaction import Redactor

SCOPE: Final = "lc_otel"

MEASURED_OPERATIONS: Final = frozenset(
    {sc.OP_CHAT, sc.OP_TEXT_COMPLETION, sc.OP_EXECUTE_TOOL, sc.OP_RETRIEVAL, sc.OP_INVOKE_AGENT}
)

METRIC_ATTRIBUTES: Final = (
    sc.GEN_AI_OPERATION_NAME,
    sc.GEN_AI_PROVIDER_NAME,
    sc.GEN_AI_REQUEST_MODEL,
    sc.SERVER_ADDRESS,
    sc.SERVER_PORT,
    sc.GEN_AI_AGENT_NAME,
    sc.GEN_AI_TOOL_NAME,
)
"""Start attributes a metric point carries: each has few distinct values (never content or a run id)."""


def _api_module(name: str) -> ModuleType | None:
    """The API module holding a global provider, for :func:`_still_unset`; ``None`` when it cannot tell."""
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


_INPUT: Final = {TOKEN_TYPE: "input"}
_OUTPUT: Final = {TOKEN_TYPE: "output"}


class Run(Protocol):
    """What the recorder reads of a run: ``lc_otel._tracing.run_table.Run``.

    A protocol, so that ``_metrics`` does not import ``_tracing`` (the packages' imports go one way).
    """

    span: Span
    started: float
    """``time.monotonic()`` at start."""
    first_chunk_ns: int
    chunk_count: int
    telemetry: RunTelemetry | None


_METRICS_API: Final = _api_module("opentelemetry.metrics._internal")
_LOGS_API: Final = _api_module("opentelemetry._logs._internal")


def _still_unset(module: ModuleType | None, attribute: str) -> bool:
    """Whether the API's global provider in ``module`` is certainly still unset (``False`` when unsure).

    A provider chosen by ``OTEL_PYTHON_*_PROVIDER`` is made by the first ``get_*_provider()``, which the handler
    calls when it is created: with one, the handler never waits for a global, so this is not asked.
    """
    return module is not None and getattr(module, attribute, False) is None


_PLACEHOLDERS: Final = frozenset({"_ProxyMeterProvider", "_ProxyLoggerProvider", "ProxyLoggerProvider"})


def placeholder(provider: object) -> bool:
    """Whether ``provider`` is the API's stand-in for a global provider nobody set yet (its class is private)."""
    return type(provider).__name__ in _PLACEHOLDERS


class GenAITelemetry:
    """The metrics and events of one handler.

    Args:
        meter_provider: Where metrics go; the global provider when ``None``.
        logger_provider: Where events go; the global provider when ``None``.
        options: What to record.
        redactor: The span content's redactor, so events leak no more than spans.
        max_length: Characters kept of each captured value.
    """

    def __init__(
        self,
        meter_provider: MeterProvider | None,
        logger_provider: LoggerProvider | None,
        options: TelemetryOptions,
        redactor: Redactor,
        max_length: int,
    ) -> None:
        self._options = options
        self._metadata_keys = tuple(sc.METADATA_PREFIX + key for key in options.metadata_keys)
        self._redactor = redactor
        self._max_length = max_length
        self.instruments: Instruments | None = None
        self.events: EventEmitter | None = None
        self.recording = False
        """Whether runs are measured now: metrics or events are on."""
        self.waiting = False
        """Whether a global provider may still be set: the span code then calls :meth:`refresh` now and then."""
        self._waiting_meter: object | None = None
        self._waiting_logger: object | None = None
        if options.metrics:
            self._use_meter_provider(meter_provider or metrics.get_meter_provider())
        if options.emit_events:
            self._use_logger_provider(logger_provider or get_logger_provider())
        self._update_state()

    def _update_state(self) -> None:
        self.recording = self.instruments is not None or self.events is not None
        self.waiting = self._waiting_meter is not None or self._waiting_logger is not None

    @property
    def idle(self) -> bool:
        """Nothing to record now or later: the handler may drop this object."""
        return not (self.recording or self.waiting)

    def _use_meter_provider(self, provider: object) -> None:
        if placeholder(provider):
            self._waiting_meter = provider
            return
        self._waiting_meter = None
        if isinstance(provider, NoOpMeterProvider) or not isinstance(provider, MeterProvider):
            return
        meter = provider.get_meter(SCOPE, __version__)
        if isinstance(meter, metrics.NoOpMeter):  # an SDK provider with OTEL_SDK_DISABLED
            return
        self.instruments = Instruments.create(meter)

    def _use_logger_provider(self, provider: object) -> None:
        if placeholder(provider):
            self._waiting_logger = provider
            return
        self._waiting_logger = None
        if isinstance(provider, NoOpLoggerProvider) or not isinstance(provider, LoggerProvider):
            return
        self.events = EventEmitter.create(provider, self._redactor, self._max_length)

    def refresh(self) -> None:
        """Pick up a global provider set after the handler was created.

        The span code asks at each top-level run start while a global provider is still unset (so
        ``instrument()`` before ``configure()`` records from the next request on), not at every run: the
        common case (none set, ever) reads the API's own module global instead of calling
        ``get_*_provider()``, which also reads the environment each time.
        """
        if self._waiting_meter is not None and not _still_unset(_METRICS_API, "_METER_PROVIDER"):
            current = metrics.get_meter_provider()
            if current is not self._waiting_meter:
                self._use_meter_provider(current)
        if self._waiting_logger is not None and not _still_unset(_LOGS_API, "_LOGGER_PROVIDER"):
            current_logger = get_logger_provider()
            if current_logger is not self._waiting_logger:
                self._use_logger_provider(current_logger)
        self._update_state()

    # --- the run lifecycle ----------------------------------------------------------------------------

    def start(self, attributes: Mapping[str, Any]) -> RunTelemetry | None:
        """Return what to keep for a run starting with the span ``attributes``; ``None`` when not measured.

        Called only while :attr:`recording`.
        """
        operation = attributes.get(sc.GEN_AI_OPERATION_NAME)
        if operation not in MEASURED_OPERATIONS:
            return None
        events = self.events if operation in INFERENCE_OPERATIONS else None
        if self.instruments is None and events is None:
            return None
        point: Attributes = {}
        for key in METRIC_ATTRIBUTES:
            value = attributes.get(key)
            if value is not None:
                point[key] = value
        for key in self._metadata_keys:
            value = attributes.get(key)
            if value is not None:
                point[key] = value
        run = RunTelemetry(operation, point)
        if events is not None:
            run.event_attributes = events.start_attributes(attributes)
        return run

    def model_inputs(self, run: Run | None, messages: Any, *, chat: bool) -> None:
        """Keep a model call's prompt for its event (nothing to do when events are off)."""
        if run is None or run.telemetry is None or run.telemetry.event_attributes is None or self.events is None:
            return
        run.telemetry.system, run.telemetry.inputs = self.events.inputs(messages, chat=chat)

    def end(
        self,
        run: Run,
        context: Context,
        error_type: str | None = None,
        end_attributes: Mapping[str, Any] | None = None,
        response: Any = None,
    ) -> None:
        """Record the metrics of ``run``, which ended as ``error_type`` says (``None``: success).

        The caller does not measure a cancelled run (the caller gave up, and its duration says nothing about
        the operation) and passes no ``error_type`` for LangGraph control flow (an interrupt is no failure).

        Args:
            run: The run; ``run.telemetry`` is set.
            context: The context with the run's span current: the SDK's exemplars point at the run's span
                (with the default trace-based exemplar filter, when it is sampled), whatever is current here.
            error_type: The failure's ``error.type``.
            end_attributes: A model call's end attributes (response model, token usage, streaming figures).
            response: A model call's response, for the event's output messages.
        """
        telemetry = run.telemetry
        if telemetry is None:
            return
        duration = max(0.0, time.monotonic() - run.started)
        point = telemetry.attributes
        if end_attributes is not None:
            response_model = end_attributes.get(sc.GEN_AI_RESPONSE_MODEL)
            if response_model is not None:
                point = {**point, sc.GEN_AI_RESPONSE_MODEL: response_model}
        instruments = self.instruments
        if instruments is not None:
            instruments.duration(
                duration, point if error_type is None else {**point, sc.ERROR_TYPE: error_type}, context
            )
            if end_attributes is not None and error_type is None:
                self._record_model(instruments, run, point, end_attributes, context)
        events = self.events
        if telemetry.event_attributes is not None and events is not None:
            events.emit(run.span, telemetry, error_type, end_attributes, response)

    @staticmethod
    def _record_model(
        instruments: Instruments, run: Run, point: Attributes, end: Mapping[str, Any], context: Context
    ) -> None:
        input_tokens = end.get(sc.GEN_AI_USAGE_INPUT_TOKENS)
        if isinstance(input_tokens, int):
            instruments.token_usage(input_tokens, {**point, **_INPUT}, context)
        output_tokens = end.get(sc.GEN_AI_USAGE_OUTPUT_TOKENS)
        if isinstance(output_tokens, int):
            instruments.token_usage(output_tokens, {**point, **_OUTPUT}, context)
        first_chunk = end.get(sc.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK)
        if isinstance(first_chunk, float):
            instruments.time_to_first_chunk(first_chunk, point, context)
            # One point per streamed call: the mean time per chunk after the first. A point per chunk, as the
            # conventions describe it, would cost a few microseconds of SDK work per chunk on the caller's thread.
            if run.chunk_count > 1:
                after_first = max(0.0, (time.time_ns() - run.first_chunk_ns) / 1e9)
                instruments.time_per_output_chunk(after_first / (run.chunk_count - 1), point, context)


def telemetry_for(
    meter_provider: MeterProvider | None,
    logger_provider: LoggerProvider | None,
    redactor: Redactor,
    max_length: int,
    options: TelemetryOptions | None = None,
) -> GenAITelemetry | None:
    """The handler's metrics and events, or ``None`` when there is nothing to record now or later."""
    telemetry = GenAITelemetry(
        meter_provider, logger_provider, options or TelemetryOptions.from_env(), redactor, max_length
    )
    return None if telemetry.idle else telemetry


__all__: Sequence[str] = ("GenAITelemetry", "RunTelemetry", "telemetry_for")

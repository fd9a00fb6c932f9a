"""The ``gen_ai.client.inference.operation.details`` event: a model call's attributes and messages as a log.

Emitted through the OpenTelemetry logs API when ``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT`` is
``EVENT_ONLY`` or ``SPAN_AND_EVENT``: the conventions' place for content that should not sit on spans. The
messages go through the same conversion, redaction and length limit as span content
(``lc_otel._attributes.messages``), and are sent structured: the JSON a span would hold, parsed back (when
too long, its longest strings cut, as on a span).
"""

from __future__ import annotations

import inspect
import json
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

from opentelemetry import trace
from opentelemetry._logs import Logger, LoggerProvider, LogRecord, SeverityNumber

from lc_otel._attributes import messages as _messages
from lc_otel._attributes import semconv as sc
from lc_otel._version import __version__

if TYPE_CHECKING:
    from opentelemetry.trace import Span

    from lc_otel._attributes.redaction import Redactor
    from lc_otel._metrics.run_telemetry import RunTelemetry

INFERENCE_DETAILS: Final = "gen_ai.client.inference.operation.details"

_CONTENT_KEYS: Final = frozenset({sc.GEN_AI_INPUT_MESSAGES, sc.GEN_AI_OUTPUT_MESSAGES, sc.GEN_AI_SYSTEM_INSTRUCTIONS})
_PREFIXES: Final = ("gen_ai.", "server.")


def _gen_ai(attributes: Mapping[str, Any]) -> dict[str, Any]:
    """The GenAI and server attributes of a span, without its content (the event carries it structured)."""
    return {
        key: value
        for key, value in attributes.items()
        if isinstance(key, str) and key.startswith(_PREFIXES) and key not in _CONTENT_KEYS
    }


class EventEmitter:
    """Builds and emits the inference details event of each model call.

    Args:
        logger: The logs API logger to emit with.
        redactor: Replaces secrets in the messages.
        max_length: Characters kept of each captured value.
    """

    def __init__(self, logger: Logger, redactor: Redactor, max_length: int) -> None:
        self._logger = logger
        self._redactor = redactor
        self._max_length = max_length
        # LogRecord learnt event_name in opentelemetry-api 1.35; before, the name is the event.name attribute.
        self._named = "event_name" in inspect.signature(LogRecord.__init__).parameters

    @classmethod
    def create(cls, provider: LoggerProvider, redactor: Redactor, max_length: int) -> EventEmitter:
        """An emitter on ``provider``'s ``lc_otel`` logger."""
        return cls(provider.get_logger("lc_otel", __version__), redactor, max_length)

    @staticmethod
    def start_attributes(attributes: Mapping[str, Any]) -> dict[str, Any]:
        """The span start attributes the event repeats."""
        return _gen_ai(attributes)

    def inputs(self, messages: Any, *, chat: bool) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """Convert a model call's prompt: ``(system instructions, input messages)``, redacted."""
        if chat:
            return _messages.input_messages(messages, self._redactor)
        return [], _messages.prompt_messages(messages, self._redactor)

    def _capped(self, value: list[dict[str, Any]]) -> Any:
        """The JSON a span would hold for ``value``, parsed back: plain lists, dicts and scalars.

        Text that is no JSON any more (cut as a last resort) is sent as it is, like on a span.
        """
        text = _messages.messages_json(value, self._max_length)
        try:
            return json.loads(text)
        except ValueError:
            return text

    def emit(
        self,
        span: Span,
        telemetry: RunTelemetry,
        error_type: str | None,
        end_attributes: Mapping[str, Any] | None,
        response: Any,
    ) -> None:
        """Emit the event of the model call of ``span``, which ended (``error_type``: how it failed)."""
        attributes: dict[str, Any] = dict(telemetry.event_attributes or {})
        if end_attributes is not None:
            attributes.update(_gen_ai(end_attributes))
        if error_type is not None:
            attributes[sc.ERROR_TYPE] = error_type
        if telemetry.system:
            attributes[sc.GEN_AI_SYSTEM_INSTRUCTIONS] = self._capped(telemetry.system)
        if telemetry.inputs:
            attributes[sc.GEN_AI_INPUT_MESSAGES] = self._capped(telemetry.inputs)
        if response is not None:
            outputs = _messages.output_messages(response, self._redactor)
            if outputs:
                attributes[sc.GEN_AI_OUTPUT_MESSAGES] = self._capped(outputs)
        context = trace.set_span_in_context(span)
        now = time.time_ns()
        if self._named:
            record = LogRecord(
                timestamp=now,
                observed_timestamp=now,
                context=context,
                severity_number=SeverityNumber.INFO,
                attributes=attributes,
                event_name=INFERENCE_DETAILS,
            )
        else:  # pragma: no cover - opentelemetry-api before 1.35
            attributes["event.name"] = INFERENCE_DETAILS
            span_context = span.get_span_context()
            record = LogRecord(
                timestamp=now,
                observed_timestamp=now,
                trace_id=span_context.trace_id,
                span_id=span_context.span_id,
                trace_flags=span_context.trace_flags,
                severity_number=SeverityNumber.INFO,
                attributes=attributes,
            )
        self._logger.emit(record)

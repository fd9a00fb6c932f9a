"""From a LangChain run id to its span: the context a step of that run runs in, and a stand-in span.

Every open run is claimed in :mod:`lc_otel._tracing.handler_registry` by the handler that traces it, which keeps
the context it made for the run, so a run's span is found whichever callback manager the step was given.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Span, SpanContext, Status, StatusCode
from opentelemetry.util import types

from lc_otel._internal_errors import report_internal_error
from lc_otel._tracing import handler_registry


def span_of_run(run_id: uuid.UUID | None) -> Span | None:
    """Return the span an lc_otel handler keeps for the open run ``run_id``, if any."""
    context = context_of_run(run_id)
    return trace.get_current_span(context) if context is not None else None


def context_of_run(run_id: object) -> otel_context.Context | None:
    """Return the context in which a step of the open run ``run_id`` runs: its span current.

    The registry knows which handler traces each open run, so this is two dictionary lookups and a context
    the run made once, however many handlers are alive.
    """
    if not isinstance(run_id, uuid.UUID):
        return None
    handler = handler_registry.owner(run_id)
    if handler is None:
        return None
    try:
        return handler.context_for(run_id)
    except Exception as error:  # noqa: BLE001 - a broken handler (a subclass): the step runs as without lc_otel
        report_internal_error("context_of_run", error)
        return None


class RunSpan(Span):
    """Stands for the span of a run that may not have started yet.

    A stream starts its model run inside its first ``next()``, after the wrapper had to make something current.
    Until the run's span exists (and again once it ended) this behaves as the span that was current before.
    """

    __slots__ = ("_fallback", "_run_id")

    def __init__(self, run_id: uuid.UUID, fallback: Span) -> None:
        self._run_id = run_id
        self._fallback = fallback

    def _target(self) -> Span:
        try:
            span = span_of_run(self._run_id)
        except Exception as error:  # noqa: BLE001 - never raise into whoever asked for the current span
            report_internal_error("RunSpan", error)
            span = None
        return span if span is not None else self._fallback

    def get_span_context(self) -> SpanContext:
        return self._target().get_span_context()

    def is_recording(self) -> bool:
        return self._target().is_recording()

    def end(self, end_time: int | None = None) -> None:
        self._target().end(end_time)

    def set_attributes(self, attributes: Mapping[str, types.AttributeValue]) -> None:
        self._target().set_attributes(attributes)

    def set_attribute(self, key: str, value: types.AttributeValue) -> None:
        self._target().set_attribute(key, value)

    def add_event(self, name: str, attributes: types.Attributes = None, timestamp: int | None = None) -> None:
        self._target().add_event(name, attributes, timestamp)

    def add_link(self, context: SpanContext, attributes: types.Attributes = None) -> None:
        self._target().add_link(context, attributes)

    def update_name(self, name: str) -> None:
        self._target().update_name(name)

    def set_status(self, status: Status | StatusCode, description: str | None = None) -> None:
        self._target().set_status(status, description)

    def record_exception(
        self,
        exception: BaseException,
        attributes: types.Attributes = None,
        timestamp: int | None = None,
        escaped: bool = False,
    ) -> None:
        self._target().record_exception(exception, attributes, timestamp, escaped)


__all__ = ["RunSpan", "context_of_run", "span_of_run"]

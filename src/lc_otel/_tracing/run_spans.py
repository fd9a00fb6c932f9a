"""``RunSpans``: the state every callback shares, and how a run's span starts and ends.

The callbacks themselves live in one mixin per kind of run (:mod:`.chain`, :mod:`.model`, :mod:`.tool`);
:class:`lc_otel.OpenTelemetryCallbackHandler` combines them. Parents come from
``parent_run_id`` and are passed explicitly to ``start_span``; no callback attaches a context (see
``docs/design.md``), so the caller's current span is never changed.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry._logs import LoggerProvider
from opentelemetry.metrics import MeterProvider
from opentelemetry.trace import SpanKind, TracerProvider

from lc_otel._attributes import content as _content
from lc_otel._attributes import semconv as sc
from lc_otel._attributes import usage as _usage
from lc_otel._attributes.tags_metadata import Attributes, metadata_attributes, retry_attempt, tag_attributes
from lc_otel._internal_errors import report_internal_error
from lc_otel._metrics.recorder import telemetry_for
from lc_otel._settings import Settings
from lc_otel._tracing import cancellation as _cancellation
from lc_otel._tracing import fast_context, run_outcome
from lc_otel._tracing.handler_registry import OWNER_OF as _owner_of
from lc_otel._tracing.run_names import RunNames
from lc_otel._tracing.run_table import Run, RunTable, run_context
from lc_otel._version import __version__

_INSTRUMENTATION_NAME = "lc_otel"
_TAG_CACHE_SIZE = 256
_AGENT_STEP_TYPES = frozenset({"chat_model", "llm", "tool"})


class RunSpans(BaseCallbackHandler):
    """One span per LangChain run: the run table, the tracer, and the span lifecycle the callbacks share.

    Args:
        tracer_provider: The provider to create spans with; the global one when ``None``.
        settings: The resolved settings.
        meter_provider: The provider for the GenAI metrics; the global one when ``None``.
        logger_provider: The provider for the GenAI events; the global one when ``None``.
    """

    # Called inline, in the caller's thread and task: the cheapest dispatch and a deterministic event order.
    run_inline = True
    raise_error = False

    def __init__(
        self,
        tracer_provider: TracerProvider | None,
        settings: Settings,
        meter_provider: MeterProvider | None = None,
        logger_provider: LoggerProvider | None = None,
    ) -> None:
        super().__init__()
        self._settings = settings
        self._tracer = trace.get_tracer(_INSTRUMENTATION_NAME, __version__, tracer_provider=tracer_provider)
        # The table claims every run it opens for this handler, process-wide (see handler_registry).
        self._runs = RunTable(max_open=settings.max_open_runs, max_age=settings.max_run_age, owner=self)
        self._open = self._runs.by_key
        self._tag_cache: dict[tuple[Any, ...], tuple[Attributes, int | None]] = {}
        self._streaming: Run | None = None
        self._redactor = _content.Redactor(settings.redact_patterns, max_length=settings.max_content_length)
        self._names = RunNames(self._redactor)
        # None when no MeterProvider or LoggerProvider can ever take anything: then metrics cost nothing.
        self._telemetry = telemetry_for(meter_provider, logger_provider, self._redactor, settings.max_content_length)
        self._chunk_events = settings.stream_chunk_events  # read on every streamed chunk
        self.enabled = True
        """When ``False`` every callback is a no-op (used by :func:`lc_otel.uninstrument`)."""

    @property
    def settings(self) -> Settings:
        """The settings this handler records with."""
        return self._settings

    @property
    def open_runs(self) -> int:
        """How many runs are started and not yet ended."""
        return len(self._runs)

    def tracks(self, run_id: UUID) -> bool:
        """Whether the run ``run_id`` is open in this handler."""
        return self._runs.get(run_id) is not None

    def context_for(self, run_id: UUID) -> otel_context.Context | None:
        """Return the context a step of the open run ``run_id`` runs in (its span current), if any."""
        # Every step of every chain asks: one dictionary lookup, and the context the run made once.
        run = self._open.get(getattr(run_id, "int", run_id))  # run_key(run_id), inline
        if run is None:
            return None
        return run.context or run_context(run)

    def shutdown(self) -> None:
        """End every open span, marked evicted. Call before the tracer provider shuts down."""
        try:
            for run in self._runs.drain():
                self._close_abandoned(run, evicted=True)
        except Exception as internal:  # noqa: BLE001 - never raise into the host (see lc_otel._internal_errors)
            report_internal_error("OpenTelemetryCallbackHandler.shutdown", internal)

    def end_abandoned(self, run: Run, error: BaseException) -> None:
        """End ``run``, if still open, and its open descendants: LangChain will send no end event for it.

        Cancelled (``error`` is a cancellation) or failed; see :mod:`lc_otel._tracing.cancellation`.
        """
        if run.is_open:
            self._end_failed(run.run_id, error)

    # --- span lifecycle -------------------------------------------------------------------------------

    def _start(
        self,
        run_id: UUID,
        parent_run_id: UUID | None,
        span_name: str,
        kind: SpanKind,
        run_type: str,
        name: str,
        attributes: Attributes,
        tags: Sequence[str] | None,
        metadata: Mapping[str, Any] | None,
        agent_name: str | None = None,
    ) -> Run | None:
        runs = self._runs
        key = getattr(run_id, "int", run_id)  # run_key(run_id), inline
        # Open already, here (a duplicate start: keep the first) or in another handler that got it first.
        if key in _owner_of:
            return None
        parent = ended_parent = None
        if parent_run_id is not None:
            # One lookup without the lock; RunTable.add re-checks under it that the parent is still open.
            parent = self._open.get(getattr(parent_run_id, "int", parent_run_id))  # run_key(parent_run_id), inline
            if parent is None:
                ended_parent = runs.ended(parent_run_id)
        caller_context = fast_context.get_current()
        run_id_text = str(run_id)
        attributes[sc.RUN_ID] = run_id_text
        if parent is not None:
            context = parent.context or run_context(parent)
            attributes[sc.RUN_PARENT_ID] = parent.run_id_text
        else:
            if ended_parent is not None:
                context = trace.set_span_in_context(trace.NonRecordingSpan(ended_parent))
            else:
                # No parent we know of: nest under whatever span is current for the caller (a request span).
                context = caller_context
            if parent_run_id is not None:
                attributes[sc.RUN_PARENT_ID] = str(parent_run_id)
        attributes[sc.RUN_TYPE] = run_type
        span_name = self._names.apply(span_name, name, attributes)
        if agent_name is not None:
            agent_name = self._redactor.name(agent_name)
        elif parent is not None:
            agent_name = parent.agent_name
            # The conventions put the agent's name on the model calls and tool calls it makes.
            if agent_name is not None and run_type in _AGENT_STEP_TYPES:
                attributes[sc.GEN_AI_AGENT_NAME] = agent_name
        attempt = None
        if tags or metadata:
            attributes, attempt = self._after_tags_and_metadata(attributes, tags, metadata)
        span = self._tracer.start_span(span_name, context=context, kind=kind, attributes=attributes)
        run = Run(
            run_id,
            key,
            span,
            parent,
            run_type,
            time.monotonic(),
            caller_context,
            run_id_text=run_id_text,
            agent_name=agent_name,
        )
        try:
            if attempt is not None and parent is not None:
                # with_retry never calls on_retry: its attempts 2, 3, ... carry the structural tag retry:attempt:N.
                parent.span.add_event(sc.EVENT_RETRY, {sc.EVENT_RETRY_ATTEMPT: attempt - 1})
            telemetry = self._telemetry
            if telemetry is not None:
                if telemetry.waiting and parent is None:  # a global provider set since: from the next request on
                    telemetry.refresh()
                if telemetry.recording:
                    run.telemetry = telemetry.start(attributes)
        except Exception as internal:  # noqa: BLE001 - the span is started: it is tracked and ends, whatever failed
            report_internal_error("OpenTelemetryCallbackHandler._start", internal)
        evicted = self._runs.add(run)
        if evicted is None:  # lost a race with a duplicate start
            span.end()
            return None
        for stale in evicted:
            self._close_abandoned(stale, evicted=True)
        _cancellation.record(self, run)
        return run

    def _after_tags_and_metadata(
        self, attributes: Attributes, tags: Sequence[str] | None, metadata: Mapping[str, Any] | None
    ) -> tuple[Attributes, int | None]:
        """Return the tag and metadata attributes followed by ``attributes``, and the retry attempt of ``tags``.

        The user's tags and metadata come first: past the SDK's attribute limit the oldest attributes are
        dropped, so a user's 150 tags never push lc_otel's own attributes (``langchain.run.id``) out.
        ``attributes`` itself is returned when the tags and metadata add none (structural tags, LangChain's
        own metadata): most runs.
        """
        combined: Attributes | None = None
        attempt = None
        if tags:
            try:  # the cached tags of nearly every run, without a call
                cached = self._tag_cache.get(tuple(tags)) if type(tags) is list else None
            except TypeError:  # an unhashable tag: see _tag_info
                cached = None
            from_tags, attempt = cached if cached is not None else self._tag_info(tags)
            if from_tags:
                combined = from_tags.copy()
        if metadata:
            if combined is None:
                combined = {}
            metadata_attributes(metadata, combined, self._redactor, self._settings.max_metadata_attributes)
        if not combined:
            return attributes, attempt
        combined.update(attributes)
        return combined, attempt

    def _tag_info(self, tags: Sequence[str]) -> tuple[Attributes, int | None]:
        """Return the tag attributes of ``tags`` and its ``retry:attempt:N``, cached.

        Every run of a request carries one of the same few tag lists.
        """
        if isinstance(tags, str):  # one tag, not its characters
            tags = [tags]
        key = tuple(tags)
        try:
            cached = self._tag_cache.get(key)
        except TypeError:  # an unhashable tag: coerced by tag_attributes, not cached
            uncached: Attributes = {}
            tag_attributes(key, uncached, self._redactor, self._settings.max_tag_attributes)
            return uncached, retry_attempt(key)
        if cached is None:
            attributes: Attributes = {}
            tag_attributes(key, attributes, self._redactor, self._settings.max_tag_attributes)
            cached = (attributes, retry_attempt(key))
            if len(self._tag_cache) >= _TAG_CACHE_SIZE:
                self._tag_cache.clear()  # crude but bounded; a working set this large is unusual
            self._tag_cache[key] = cached
        return cached

    def _close_abandoned(self, run: Run, *, evicted: bool = False) -> None:
        """End ``run``'s span as cancelled (or evicted): LangChain will never end it. Never raises."""
        try:
            try:
                run_outcome.mark_cancelled(run.span)
                if evicted:
                    run.span.set_attribute(sc.RUN_EVICTED, True)
                self._add_subtree_usage(run)
            finally:
                run.span.end()
        except Exception as internal:  # noqa: BLE001 - one run's failure must not leave the others open
            report_internal_error("OpenTelemetryCallbackHandler._close_abandoned", internal)

    def _finish(self, run_id: UUID, error: BaseException | None = None) -> Run | None:
        """Stop tracking ``run_id``; end its open descendants as cancelled; return it for ending.

        Never raises once the run is popped.
        The caller owns the returned run's span from here: it must end it in a ``finally``, so that a failure
        while reading the outcome (a malformed response, an output that cannot be printed) still ends it,
        and its children keep an exported parent.

        Records the run's GenAI metrics, except a model call's success: its end has the response to read.
        """
        popped = self._runs.pop(run_id)
        if not popped:
            return None
        if len(popped) > 1:
            for descendant in popped[:-1]:
                self._close_abandoned(descendant)
        run = popped[-1]
        if run.telemetry is not None and (error is not None or not run.telemetry.model):
            try:
                self._record_metrics(run, error)
            except Exception as internal:  # noqa: BLE001 - the span still ends (see the caller's finally)
                report_internal_error("OpenTelemetryCallbackHandler._finish", internal)
        return run

    def _record_metrics(self, run: Run, error: BaseException | None) -> None:
        """Record a measured run's GenAI metrics: a cancelled run is not measured, control flow is no failure."""
        if self._telemetry is None or (error is not None and run_outcome.is_cancellation(error)):
            return
        failure = None if error is None or run_outcome.is_control_flow(error) else run_outcome.error_type(error)
        self._telemetry.end(run, run_context(run), failure)

    def _mark_outcome(self, run: Run, error: BaseException) -> None:
        if run_outcome.is_cancellation(error):
            run_outcome.mark_cancelled(run.span)
        else:
            run_outcome.mark_failed(run.span, error, self._redactor, self._settings.max_exception_length)

    def _end_failed_guarded(self, run_id: UUID, error: BaseException, callback: str) -> None:
        """:meth:`_end_failed`, for the ``on_*_error`` callback ``callback``: an internal failure is reported."""
        try:
            self._end_failed(run_id, error)
        except Exception as internal:  # noqa: BLE001 - never raise into the host (see lc_otel._internal_errors)
            report_internal_error(f"OpenTelemetryCallbackHandler.{callback}", internal)

    def _end_failed(self, run_id: UUID, error: BaseException) -> None:
        """End the span of ``run_id`` as failed or cancelled, with its subtree's token totals."""
        run = self._finish(run_id, error)
        if run is None:
            return
        try:
            self._mark_outcome(run, error)
            self._add_subtree_usage(run)
        finally:
            run.span.end()

    @staticmethod
    def _add_subtree_usage(run: Run) -> None:
        if run.subtree_usage is not None:
            attributes: Attributes = {}
            _usage.subtree_usage_attributes(run.subtree_usage, attributes)
            run.span.set_attributes(attributes)

    def _capture(self, value: Any) -> str:
        """Render a captured value; never raises, so a value that cannot be rendered still gets its span."""
        try:
            return _content.dump(value, self._redactor, self._settings.max_content_length)
        except Exception as internal:  # noqa: BLE001 - a start that failed here would orphan the run's children
            report_internal_error("OpenTelemetryCallbackHandler._capture", internal)
            return f"<unprintable {type(value).__name__}>"

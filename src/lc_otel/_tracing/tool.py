"""The callbacks of tools and retrievers, and the events recorded on an open run."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any
from uuid import UUID

from opentelemetry.trace import SpanKind

from lc_otel._attributes import retrieval as _retrieval
from lc_otel._attributes import semconv as sc
from lc_otel._attributes import tools as _tools
from lc_otel._attributes.redaction import coerce_text
from lc_otel._attributes.tags_metadata import Attributes, is_int64, is_mapping, run_name
from lc_otel._internal_errors import report_internal_error
from lc_otel._tracing import run_outcome
from lc_otel._tracing.run_spans import RunSpans


class ToolCallbacks(RunSpans):
    """The callbacks of tools and retrievers, and the events recorded on an open run."""

    def on_tool_start(
        self,
        serialized: dict[str, Any] | None,
        input_str: str,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        inputs: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        """Start an ``execute_tool {name}`` span."""
        try:
            if not self.enabled:
                return
            name = run_name(serialized, kwargs.get("name"), default="tool")
            attributes: Attributes = {
                sc.GEN_AI_OPERATION_NAME: sc.OP_EXECUTE_TOOL,
                sc.GEN_AI_TOOL_NAME: name,
                sc.GEN_AI_TOOL_TYPE: "function",
            }
            description = serialized.get("description") if is_mapping(serialized) else None
            if isinstance(description, str) and description:
                attributes[sc.GEN_AI_TOOL_DESCRIPTION] = self._redactor.head(
                    description, self._settings.max_content_length
                )
            call_id = kwargs.get("tool_call_id")
            if isinstance(call_id, str) and call_id:
                attributes[sc.GEN_AI_TOOL_CALL_ID] = call_id
            if self._settings.capture_content:
                attributes[sc.INPUT] = self._capture(inputs if inputs is not None else input_str)
                attributes[sc.GEN_AI_TOOL_CALL_ARGUMENTS] = _tools.tool_call_arguments(
                    inputs, input_str, self._redactor, self._settings.max_content_length
                )
            span_name = f"{sc.OP_EXECUTE_TOOL} {name}"
            self._start(run_id, parent_run_id, span_name, SpanKind.INTERNAL, "tool", name, attributes, tags, metadata)
        except Exception as internal:  # noqa: BLE001 - never raise into the host (see lc_otel._internal_errors)
            report_internal_error("OpenTelemetryCallbackHandler.on_tool_start", internal)

    def on_tool_end(self, output: Any, *, run_id: UUID, parent_run_id: UUID | None = None, **kwargs: Any) -> None:
        """End a tool span."""
        try:
            run = self._finish(run_id)
            if run is None:
                return
            try:
                self._add_subtree_usage(run)
                if self._settings.capture_content:
                    run.span.set_attribute(sc.OUTPUT, self._capture(getattr(output, "content", output)))
                    run.span.set_attribute(
                        sc.GEN_AI_TOOL_CALL_RESULT,
                        _tools.tool_call_result(output, self._redactor, self._settings.max_content_length),
                    )
                call_id = getattr(output, "tool_call_id", None)  # the ToolMessage says which call it answers
                if isinstance(call_id, str) and call_id:
                    run.span.set_attribute(sc.GEN_AI_TOOL_CALL_ID, self._redactor.name(call_id))
            finally:
                run.span.end()
        except Exception as internal:  # noqa: BLE001 - never raise into the host (see lc_otel._internal_errors)
            report_internal_error("OpenTelemetryCallbackHandler.on_tool_end", internal)

    def on_tool_error(
        self, error: BaseException, *, run_id: UUID, parent_run_id: UUID | None = None, **kwargs: Any
    ) -> None:
        """End a tool span as failed or cancelled."""
        self._end_failed_guarded(run_id, error, "on_tool_error")

    # --- retrievers -----------------------------------------------------------------------------------

    def on_retriever_start(
        self,
        serialized: dict[str, Any] | None,
        query: str,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        """Start a ``retrieval {name}`` span."""
        try:
            if not self.enabled:
                return
            name = run_name(serialized, kwargs.get("name"), default="retriever")
            attributes: Attributes = {sc.GEN_AI_OPERATION_NAME: sc.OP_RETRIEVAL}
            _retrieval.retrieval_attributes(metadata, attributes)
            if self._settings.capture_content:
                attributes[sc.INPUT] = self._capture(query)
                attributes[sc.GEN_AI_RETRIEVAL_QUERY_TEXT] = self._capture(query)
            span_name = f"{sc.OP_RETRIEVAL} {name}"
            self._start(
                run_id, parent_run_id, span_name, SpanKind.CLIENT, "retriever", name, attributes, tags, metadata
            )
        except Exception as internal:  # noqa: BLE001 - never raise into the host (see lc_otel._internal_errors)
            report_internal_error("OpenTelemetryCallbackHandler.on_retriever_start", internal)

    def on_retriever_end(
        self, documents: Sequence[Any], *, run_id: UUID, parent_run_id: UUID | None = None, **kwargs: Any
    ) -> None:
        """End a retriever span with the number of documents returned."""
        try:
            run = self._finish(run_id)
            if run is None:
                return
            try:
                if isinstance(documents, Sequence):
                    run.span.set_attribute(sc.RETRIEVER_DOCUMENT_COUNT, len(documents))
                    if self._settings.capture_content:
                        run.span.set_attribute(
                            sc.OUTPUT,
                            self._capture(
                                [
                                    {
                                        "page_content": getattr(d, "page_content", d),
                                        "metadata": getattr(d, "metadata", None),
                                    }
                                    for d in documents
                                ]
                            ),
                        )
                        run.span.set_attribute(
                            sc.GEN_AI_RETRIEVAL_DOCUMENTS,
                            _retrieval.retrieved_documents(
                                documents, self._redactor, self._settings.max_content_length
                            ),
                        )
            finally:
                run.span.end()
        except Exception as internal:  # noqa: BLE001 - never raise into the host (see lc_otel._internal_errors)
            report_internal_error("OpenTelemetryCallbackHandler.on_retriever_end", internal)

    def on_retriever_error(
        self, error: BaseException, *, run_id: UUID, parent_run_id: UUID | None = None, **kwargs: Any
    ) -> None:
        """End a retriever span as failed or cancelled."""
        self._end_failed_guarded(run_id, error, "on_retriever_error")

    # --- events on an open run ------------------------------------------------------------------------

    def on_custom_event(
        self,
        name: str,
        data: Any,
        *,
        run_id: UUID,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        """Record ``dispatch_custom_event`` as a span event on the run that dispatched it."""
        try:
            run = self._runs.get(run_id)
            if run is None:
                return
            attributes: Attributes = {sc.EVENT_CUSTOM_NAME: self._redactor.name(coerce_text(name))}
            if self._settings.capture_content:
                attributes[sc.EVENT_CUSTOM_DATA] = self._capture(data)
            run.span.add_event(sc.EVENT_CUSTOM, attributes)
        except Exception as internal:  # noqa: BLE001 - never raise into the host (see lc_otel._internal_errors)
            report_internal_error("OpenTelemetryCallbackHandler.on_custom_event", internal)

    def on_retry(self, retry_state: Any, *, run_id: UUID, parent_run_id: UUID | None = None, **kwargs: Any) -> None:
        """Record a retry of a model call as a span event with the attempt number."""
        try:
            run = self._runs.get(run_id)
            if run is None:
                return
            attributes: Attributes = {}
            attempt = getattr(retry_state, "attempt_number", None)
            if isinstance(attempt, int) and is_int64(attempt):
                attributes[sc.EVENT_RETRY_ATTEMPT] = attempt
            outcome = getattr(retry_state, "outcome", None)
            if outcome is not None and getattr(outcome, "failed", False):
                # tenacity's internals vary between versions: the error type is a bonus, never a failure.
                with contextlib.suppress(Exception):
                    attributes[sc.ERROR_TYPE] = run_outcome.error_type(outcome.exception())
            run.span.add_event(sc.EVENT_RETRY, attributes)
        except Exception as internal:  # noqa: BLE001 - never raise into the host (see lc_otel._internal_errors)
            report_internal_error("OpenTelemetryCallbackHandler.on_retry", internal)

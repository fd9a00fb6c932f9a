"""The callbacks of chat models and text LLMs: ``chat {model}`` spans with the GenAI attributes."""

from __future__ import annotations

import time
from typing import Any
from uuid import UUID

from langchain_core.outputs import ChatGenerationChunk, GenerationChunk
from opentelemetry.trace import SpanKind

from lc_otel._attributes import genai as _genai
from lc_otel._attributes import messages as _messages
from lc_otel._attributes import semconv as sc
from lc_otel._attributes import tools as _tools
from lc_otel._attributes.tags_metadata import Attributes, is_mapping, run_name
from lc_otel._internal_errors import report_internal_error
from lc_otel._tracing.run_spans import RunSpans
from lc_otel._tracing.run_table import Run, run_context


class ModelCallbacks(RunSpans):
    """The callbacks of chat models and text LLMs: ``chat {model}`` spans with the GenAI attributes."""

    def _start_model(
        self,
        operation: str,
        run_type: str,
        serialized: dict[str, Any] | None,
        run_id: UUID,
        parent_run_id: UUID | None,
        tags: list[str] | None,
        metadata: dict[str, Any] | None,
        kwargs: dict[str, Any],
        content: Attributes | None,
    ) -> Run | None:
        """Start the model call's span; return its run (``None`` when not started: a duplicate start)."""
        invocation_params = kwargs.get("invocation_params")
        params = invocation_params if is_mapping(invocation_params) else None
        model = _genai.request_model(metadata, params, serialized)
        attributes: Attributes = {}
        _genai.request_attributes(
            operation,
            model,
            metadata=metadata,
            invocation_params=params,
            serialized=serialized,
            into=attributes,
        )
        if content:
            attributes.update(content)
        name = run_name(serialized, kwargs.get("name"), default=run_type)
        span_name = f"{operation} {model}" if model else operation
        run = self._start(run_id, parent_run_id, span_name, SpanKind.CLIENT, run_type, name, attributes, tags, metadata)
        if run is not None:
            run.started_ns = time.time_ns()
        return run

    def on_chat_model_start(
        self,
        serialized: dict[str, Any],
        messages: list[list[Any]],
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        """Start a ``chat {model}`` span."""
        try:
            if not self.enabled:
                return
            content: Attributes | None = None
            if self._settings.capture_content:
                system, inputs = _messages.input_messages(messages, self._redactor)
                limit = self._settings.max_content_length
                content = {sc.GEN_AI_INPUT_MESSAGES: _messages.messages_json(inputs, limit)}
                if system:
                    content[sc.GEN_AI_SYSTEM_INSTRUCTIONS] = _messages.messages_json(system, limit)
                params = kwargs.get("invocation_params")
                definitions = _tools.tool_definitions(params if is_mapping(params) else None, self._redactor, limit)
                if definitions is not None:
                    content[sc.GEN_AI_TOOL_DEFINITIONS] = definitions
            run = self._start_model(
                sc.OP_CHAT, "chat_model", serialized, run_id, parent_run_id, tags, metadata, kwargs, content
            )
            if run is not None and run.telemetry is not None and self._telemetry is not None:  # for the event
                self._telemetry.model_inputs(run, messages, chat=True)
        except Exception as internal:  # noqa: BLE001 - never raise into the host (see lc_otel._internal_errors)
            report_internal_error("OpenTelemetryCallbackHandler.on_chat_model_start", internal)

    def on_llm_start(
        self,
        serialized: dict[str, Any],
        prompts: list[str],
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        """Start a ``text_completion {model}`` span."""
        try:
            if not self.enabled:
                return
            content: Attributes | None = None
            if self._settings.capture_content:
                messages = _messages.prompt_messages(prompts, self._redactor)
                content = {
                    sc.GEN_AI_INPUT_MESSAGES: _messages.messages_json(messages, self._settings.max_content_length)
                }
            run = self._start_model(
                sc.OP_TEXT_COMPLETION, "llm", serialized, run_id, parent_run_id, tags, metadata, kwargs, content
            )
            if run is not None and run.telemetry is not None and self._telemetry is not None:
                self._telemetry.model_inputs(run, prompts, chat=False)
        except Exception as internal:  # noqa: BLE001 - never raise into the host (see lc_otel._internal_errors)
            report_internal_error("OpenTelemetryCallbackHandler.on_llm_start", internal)

    def on_llm_new_token(
        self,
        token: str | list[str | dict[str, Any]],
        *,
        chunk: GenerationChunk | ChatGenerationChunk | None = None,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        **kwargs: Any,
    ) -> None:
        """Count a streamed chunk; remember when the first one came."""
        try:
            # Every chunk of a stream carries the same run id object: remember the last run, skip the lookup.
            run = self._streaming
            if run is None or run.run_id is not run_id or not run.is_open:
                run = self._runs.get(run_id)
                if run is None:
                    return
                self._streaming = run
            if run.chunk_count == 0:
                run.first_chunk_ns = time.time_ns()
            run.chunk_count += 1
            if self._chunk_events:
                attributes: Attributes = {"langchain.stream.chunk.index": run.chunk_count - 1}
                if self._settings.capture_content:
                    attributes["langchain.stream.chunk.content"] = self._capture(token)
                run.span.add_event(sc.EVENT_STREAM_CHUNK, attributes)
        except Exception as internal:  # noqa: BLE001 - never raise into the host, like every other callback
            report_internal_error("OpenTelemetryCallbackHandler.on_llm_new_token", internal)

    def _model_end_attributes(self, run: Run, response: Any) -> Attributes:
        attributes: Attributes = {}
        usage = _genai.response_attributes(response, attributes, self._redactor)
        if usage is not None:
            self._runs.add_usage(run, usage)
        if run.chunk_count:
            first_chunk = max(0.0, (run.first_chunk_ns - run.started_ns) / 1e9)
            attributes[sc.STREAM_TIME_TO_FIRST_CHUNK] = first_chunk
            attributes[sc.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK] = first_chunk
            attributes[sc.STREAM_CHUNK_COUNT] = run.chunk_count
            attributes[sc.GEN_AI_REQUEST_STREAM] = True
        if self._settings.capture_content:
            messages = _messages.output_messages(response, self._redactor)
            if messages:
                attributes[sc.GEN_AI_OUTPUT_MESSAGES] = _messages.messages_json(
                    messages, self._settings.max_content_length
                )
        return attributes

    def on_llm_end(self, response: Any, *, run_id: UUID, parent_run_id: UUID | None = None, **kwargs: Any) -> None:
        """End a model span with the response model, finish reasons and token usage."""
        try:
            run = self._finish(run_id)
            if run is None:
                return
            try:
                attributes = self._model_end_attributes(run, response)
                run.span.set_attributes(attributes)
                if run.telemetry is not None and self._telemetry is not None:
                    self._telemetry.end(run, run_context(run), None, attributes, response)
            finally:
                run.span.end()
        except Exception as internal:  # noqa: BLE001 - never raise into the host (see lc_otel._internal_errors)
            report_internal_error("OpenTelemetryCallbackHandler.on_llm_end", internal)

    def on_llm_error(
        self, error: BaseException, *, run_id: UUID, parent_run_id: UUID | None = None, **kwargs: Any
    ) -> None:
        """End a model span as failed or cancelled, keeping what the partial response tells."""
        try:
            run = self._finish(run_id, error)
            if run is None:
                return
            try:
                self._mark_outcome(run, error)
                partial = kwargs.get("response")
                if partial is not None:
                    run.span.set_attributes(self._model_end_attributes(run, partial))
            finally:
                run.span.end()
        except Exception as internal:  # noqa: BLE001 - never raise into the host (see lc_otel._internal_errors)
            report_internal_error("OpenTelemetryCallbackHandler.on_llm_error", internal)

"""``OpenTelemetryCallbackHandler``: LangChain callback events in, OpenTelemetry spans out.

Each ``on_*`` method is thin: it looks the run up, asks a pure function for attributes and starts or ends a
span. Parents come from ``parent_run_id`` and are passed explicitly to ``start_span``; the handler never
attaches a context inside a callback (see ``docs/design.md``), so the caller's current span is never changed.
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Mapping, Sequence
from typing import Any
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.outputs import ChatGenerationChunk, GenerationChunk
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import SpanKind, TracerProvider

from lc_otel import _content, _context, _current, _errors, _genai, _owners
from lc_otel import _semconv as sc
from lc_otel._attributes import Attributes, is_mapping, metadata_attributes, retry_attempt, run_name, tag_attributes
from lc_otel._guard import report_internal_error
from lc_otel._runs import Run, RunTable, run_context
from lc_otel._settings import Settings
from lc_otel._version import __version__

_INSTRUMENTATION_NAME = "lc_otel"
_LEGACY_AGENT_NAMES = frozenset({"AgentExecutor"})
_TAG_CACHE_SIZE = 256
_AGENT_STEP_TYPES = frozenset({"chat_model", "llm", "tool"})


class OpenTelemetryCallbackHandler(BaseCallbackHandler):
    """A LangChain callback handler that records every run as an OpenTelemetry span.

    Pass it as a constructor callback (``ChatOpenAI(callbacks=[handler])``) or a request callback
    (``chain.invoke(x, {"callbacks": [handler]})``), or install it process-wide with :func:`lc_otel.instrument`.

    Args:
        tracer_provider: The provider to create spans with; the global one when ``None``.
        capture_content: Record prompts, completions, inputs and outputs. ``None`` reads
            ``LC_OTEL_CAPTURE_CONTENT`` / ``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT`` (off by default).
        max_content_length: Characters kept of each captured value (``LC_OTEL_MAX_CONTENT_LENGTH``, 8192).
        max_open_runs: Open runs tracked at once before the oldest is evicted (``LC_OTEL_MAX_OPEN_RUNS``, 10000).
        max_run_age: Seconds a run may stay open before it is evicted (``LC_OTEL_MAX_RUN_AGE``, 3600).
        stream_chunk_events: Record one span event per streamed chunk (``LC_OTEL_STREAM_CHUNK_EVENTS``, off).
        redact_patterns: Extra regular expressions whose matches are redacted in captured content
            (``LC_OTEL_REDACT_PATTERNS``).
        settings: All of the above at once; read from the environment when ``None``. Explicit keyword
            arguments win over it.
    """

    # Called inline, in the caller's thread and task: the cheapest dispatch and a deterministic event order.
    run_inline = True
    raise_error = False

    def __init__(
        self,
        tracer_provider: TracerProvider | None = None,
        *,
        capture_content: bool | None = None,
        max_content_length: int | None = None,
        max_open_runs: int | None = None,
        max_run_age: float | None = None,
        stream_chunk_events: bool | None = None,
        redact_patterns: Sequence[str | re.Pattern[str]] | None = None,
        settings: Settings | None = None,
    ) -> None:
        super().__init__()
        overrides: dict[str, Any] = {
            "capture_content": capture_content,
            "max_content_length": max_content_length,
            "max_open_runs": max_open_runs,
            "max_run_age": max_run_age,
            "stream_chunk_events": stream_chunk_events,
            "redact_patterns": None if redact_patterns is None else tuple(re.compile(p) for p in redact_patterns),
        }
        resolved = (settings or Settings.from_env()).replace(
            **{key: value for key, value in overrides.items() if value is not None}
        )
        self._settings = resolved
        self._tracer = trace.get_tracer(_INSTRUMENTATION_NAME, __version__, tracer_provider=tracer_provider)
        self._runs = RunTable(max_open=resolved.max_open_runs, max_age=resolved.max_run_age)
        self._open = self._runs.by_key
        self._tag_cache: dict[tuple[Any, ...], tuple[Attributes, int | None]] = {}
        self._streaming: Run | None = None
        self._redactor = _content.Redactor(resolved.redact_patterns, max_length=resolved.max_content_length)
        self._chunk_events = resolved.stream_chunk_events  # read on every streamed chunk
        self.enabled = True
        """When ``False`` every callback is a no-op (used by :func:`lc_otel.uninstrument`)."""
        _owners.register(self)
        # Spans other libraries create inside a step nest under it, also without instrument() (see _context).
        _context.install_by_default()

    # One handler instance must stay one span table, even when LangChain deep-copies a config.
    def __copy__(self) -> OpenTelemetryCallbackHandler:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> OpenTelemetryCallbackHandler:
        return self

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

    def span_for(self, run_id: UUID) -> trace.Span | None:
        """Return the span of the open run ``run_id``, if any."""
        run = self._runs.get(run_id)
        return run.span if run is not None else None

    def context_for(self, run_id: UUID) -> otel_context.Context | None:
        """Return the context a step of the open run ``run_id`` runs in (its span current), if any."""
        # Every step of every chain asks: one dictionary lookup, and the context the run made once.
        run = self._open.get(getattr(run_id, "int", run_id))
        if run is None:
            return None
        return run.context or run_context(run)

    def shutdown(self) -> None:
        """End every open span, marked evicted. Call before the tracer provider shuts down."""
        try:
            for run in self._runs.drain():
                _errors.mark_cancelled(run.span)
                run.span.set_attribute(sc.RUN_EVICTED, True)
                run.span.end()
        except Exception as internal:  # noqa: BLE001 - never raise into the host (see _guard)
            report_internal_error("OpenTelemetryCallbackHandler.shutdown", internal)

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
        if key in self._open:  # a duplicate start: keep the first, drop this one
            return None
        if _owners.traced_elsewhere(self, run_id):  # another handler got it first (see _owners)
            return None
        parent, ended_parent = runs.parent_of(parent_run_id)
        caller_context = _current.get_current()
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
        attributes[sc.RUN_NAME] = name
        attempt = None
        if tags:
            from_tags, attempt = self._tag_info(tags)
            if from_tags:
                attributes.update(from_tags)
        if metadata:
            metadata_attributes(metadata, attributes, self._redactor)
        if agent_name is None and parent is not None:
            agent_name = parent.agent_name
            # The conventions put the agent's name on the model calls and tool calls it makes.
            if agent_name is not None and run_type in _AGENT_STEP_TYPES:
                attributes[sc.GEN_AI_AGENT_NAME] = agent_name
        span = self._tracer.start_span(span_name, context=context, kind=kind, attributes=attributes)
        if attempt is not None and parent is not None:
            # with_retry never calls on_retry: its attempts 2, 3, ... carry the structural tag retry:attempt:N.
            parent.span.add_event(sc.EVENT_RETRY, {sc.EVENT_RETRY_ATTEMPT: attempt - 1})
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
        evicted = self._runs.add(run)
        if evicted is None:  # lost a race with a duplicate start
            span.end()
            return None
        for stale in evicted:
            self._close_abandoned(stale, evicted=True)
        return run

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
            tag_attributes(key, uncached)
            return uncached, retry_attempt(key)
        if cached is None:
            attributes: Attributes = {}
            tag_attributes(key, attributes)
            cached = (attributes, retry_attempt(key))
            if len(self._tag_cache) >= _TAG_CACHE_SIZE:
                self._tag_cache.clear()  # crude but bounded; a working set this large is unusual
            self._tag_cache[key] = cached
        return cached

    def _close_abandoned(self, run: Run, *, evicted: bool = False) -> None:
        _errors.mark_cancelled(run.span)
        if evicted:
            run.span.set_attribute(sc.RUN_EVICTED, True)
        self._add_subtree_usage(run)
        run.span.end()

    def _finish(self, run_id: UUID) -> Run | None:
        """Stop tracking ``run_id``; end its open descendants as cancelled; return it for ending."""
        popped = self._runs.pop(run_id)
        if not popped:
            return None
        if len(popped) > 1:
            for descendant in popped[:-1]:
                self._close_abandoned(descendant)
        return popped[-1]

    def _end_with_error(self, run_id: UUID, error: BaseException) -> Run | None:
        run = self._finish(run_id)
        if run is None:
            return None
        if _errors.is_cancellation(error):
            _errors.mark_cancelled(run.span)
        else:
            _errors.mark_failed(run.span, error)
        return run

    @staticmethod
    def _add_subtree_usage(run: Run) -> None:
        if run.subtree_usage is not None:
            attributes: Attributes = {}
            _genai.subtree_usage_attributes(run.subtree_usage, attributes)
            run.span.set_attributes(attributes)

    def _capture(self, value: Any) -> str:
        return _content.dump(value, self._redactor, self._settings.max_content_length)

    # --- chains and agents ----------------------------------------------------------------------------

    def on_chain_start(
        self,
        serialized: dict[str, Any] | None,
        inputs: dict[str, Any] | Any,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        """Start a chain span, or an ``invoke_agent`` span for an agent."""
        try:
            if not self.enabled:
                return
            name = run_name(serialized, kwargs.get("name"))
            run_type = kwargs.get("run_type") or "chain"
            attributes: Attributes = {}
            agent = metadata.get("lc_agent_name") if metadata and is_mapping(metadata) else None
            if isinstance(agent, str) and agent:
                # A (sub)agent starts where lc_agent_name is set and differs from the parent's, as LangChain says.
                parent = self._runs.get(parent_run_id) if parent_run_id is not None else None
                is_agent = parent is None or parent.agent_name != agent
            else:
                is_agent = name in _LEGACY_AGENT_NAMES
            span_name = name
            kind = SpanKind.INTERNAL
            if is_agent:
                agent_name = agent if isinstance(agent, str) and agent else name
                span_name = f"{sc.OP_INVOKE_AGENT} {agent_name}"
                attributes[sc.GEN_AI_OPERATION_NAME] = sc.OP_INVOKE_AGENT
                attributes[sc.GEN_AI_AGENT_NAME] = agent_name
            if self._settings.capture_content and not kwargs.get("defers_inputs"):
                attributes[sc.INPUT] = self._capture(inputs)
            self._start(
                run_id,
                parent_run_id,
                span_name,
                kind,
                run_type,
                name,
                attributes,
                tags,
                metadata,
                agent_name=agent if isinstance(agent, str) and agent else None,
            )
        except Exception as internal:  # noqa: BLE001 - never raise into the host (see _guard)
            report_internal_error("OpenTelemetryCallbackHandler.on_chain_start", internal)

    def on_chain_end(
        self, outputs: dict[str, Any] | Any, *, run_id: UUID, parent_run_id: UUID | None = None, **kwargs: Any
    ) -> None:
        """End a chain span with its subtree's token totals."""
        try:
            run = self._finish(run_id)
            if run is None:
                return
            self._add_subtree_usage(run)
            if self._settings.capture_content:
                if "inputs" in kwargs:  # a streamed run reports its real input only now
                    run.span.set_attribute(sc.INPUT, self._capture(kwargs["inputs"]))
                run.span.set_attribute(sc.OUTPUT, self._capture(outputs))
            run.span.end()
        except Exception as internal:  # noqa: BLE001 - never raise into the host (see _guard)
            report_internal_error("OpenTelemetryCallbackHandler.on_chain_end", internal)

    def on_chain_error(
        self, error: BaseException, *, run_id: UUID, parent_run_id: UUID | None = None, **kwargs: Any
    ) -> None:
        """End a chain span as failed or cancelled."""
        try:
            run = self._end_with_error(run_id, error)
            if run is not None:
                self._add_subtree_usage(run)
                run.span.end()
        except Exception as internal:  # noqa: BLE001 - never raise into the host (see _guard)
            report_internal_error("OpenTelemetryCallbackHandler.on_chain_error", internal)

    @staticmethod
    def _mark_legacy_agent(run: Run) -> None:
        """Make the run a legacy agent gets actions on an ``invoke_agent`` span, whatever its run name.

        A legacy ``AgentExecutor`` started with a ``run_name`` cannot be told from a chain at its start
        (``serialized`` is ``None``); its first agent action or finish tells.
        """
        if run.agent_name is not None:
            return
        name = getattr(run.span, "name", None)
        if not isinstance(name, str) or not name:
            return
        agent_name = name.removeprefix(f"{sc.OP_INVOKE_AGENT} ")
        run.agent_name = agent_name
        run.span.update_name(f"{sc.OP_INVOKE_AGENT} {agent_name}")
        run.span.set_attributes({sc.GEN_AI_OPERATION_NAME: sc.OP_INVOKE_AGENT, sc.GEN_AI_AGENT_NAME: agent_name})

    def on_agent_action(self, action: Any, *, run_id: UUID, parent_run_id: UUID | None = None, **kwargs: Any) -> None:
        """Record a legacy agent's decision to call a tool as a span event."""
        try:
            run = self._runs.get(run_id)
            if run is None:
                return
            self._mark_legacy_agent(run)
            attributes: Attributes = {sc.GEN_AI_TOOL_NAME: str(getattr(action, "tool", ""))}
            if self._settings.capture_content:
                attributes["langchain.agent.log"] = self._capture(getattr(action, "log", ""))
                attributes[sc.GEN_AI_TOOL_CALL_ARGUMENTS] = self._capture(getattr(action, "tool_input", ""))
            run.span.add_event(sc.EVENT_AGENT_ACTION, attributes)
        except Exception as internal:  # noqa: BLE001 - never raise into the host (see _guard)
            report_internal_error("OpenTelemetryCallbackHandler.on_agent_action", internal)

    def on_agent_finish(self, finish: Any, *, run_id: UUID, parent_run_id: UUID | None = None, **kwargs: Any) -> None:
        """Record a legacy agent's final answer as a span event."""
        try:
            run = self._runs.get(run_id)
            if run is None:
                return
            self._mark_legacy_agent(run)
            attributes: Attributes = {}
            if self._settings.capture_content:
                attributes["langchain.agent.log"] = self._capture(getattr(finish, "log", ""))
                attributes[sc.OUTPUT] = self._capture(getattr(finish, "return_values", None))
            run.span.add_event(sc.EVENT_AGENT_FINISH, attributes)
        except Exception as internal:  # noqa: BLE001 - never raise into the host (see _guard)
            report_internal_error("OpenTelemetryCallbackHandler.on_agent_finish", internal)

    # --- models ---------------------------------------------------------------------------------------

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
    ) -> None:
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
                system, inputs = _content.input_messages(messages, self._redactor)
                limit = self._settings.max_content_length
                content = {sc.GEN_AI_INPUT_MESSAGES: _content.messages_json(inputs, limit)}
                if system:
                    content[sc.GEN_AI_SYSTEM_INSTRUCTIONS] = _content.messages_json(system, limit)
            self._start_model(
                sc.OP_CHAT, "chat_model", serialized, run_id, parent_run_id, tags, metadata, kwargs, content
            )
        except Exception as internal:  # noqa: BLE001 - never raise into the host (see _guard)
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
                messages = _content.prompt_messages(prompts, self._redactor)
                content = {
                    sc.GEN_AI_INPUT_MESSAGES: _content.messages_json(messages, self._settings.max_content_length)
                }
            self._start_model(
                sc.OP_TEXT_COMPLETION, "llm", serialized, run_id, parent_run_id, tags, metadata, kwargs, content
            )
        except Exception as internal:  # noqa: BLE001 - never raise into the host (see _guard)
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
                run = self._open.get(getattr(run_id, "int", run_id))
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
        usage = _genai.response_attributes(response, attributes)
        if usage is not None:
            self._runs.add_usage(run, usage)
        if run.chunk_count:
            first_chunk = max(0.0, (run.first_chunk_ns - run.started_ns) / 1e9)
            attributes[sc.STREAM_TIME_TO_FIRST_CHUNK] = first_chunk
            attributes[sc.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK] = first_chunk
            attributes[sc.STREAM_CHUNK_COUNT] = run.chunk_count
            attributes[sc.GEN_AI_REQUEST_STREAM] = True
        if self._settings.capture_content:
            messages = _content.output_messages(response, self._redactor)
            if messages:
                attributes[sc.GEN_AI_OUTPUT_MESSAGES] = _content.messages_json(
                    messages, self._settings.max_content_length
                )
        return attributes

    def on_llm_end(self, response: Any, *, run_id: UUID, parent_run_id: UUID | None = None, **kwargs: Any) -> None:
        """End a model span with the response model, finish reasons and token usage."""
        try:
            run = self._finish(run_id)
            if run is None:
                return
            run.span.set_attributes(self._model_end_attributes(run, response))
            run.span.end()
        except Exception as internal:  # noqa: BLE001 - never raise into the host (see _guard)
            report_internal_error("OpenTelemetryCallbackHandler.on_llm_end", internal)

    def on_llm_error(
        self, error: BaseException, *, run_id: UUID, parent_run_id: UUID | None = None, **kwargs: Any
    ) -> None:
        """End a model span as failed or cancelled, keeping what the partial response tells."""
        try:
            run = self._end_with_error(run_id, error)
            if run is None:
                return
            partial = kwargs.get("response")
            if partial is not None:
                run.span.set_attributes(self._model_end_attributes(run, partial))
            run.span.end()
        except Exception as internal:  # noqa: BLE001 - never raise into the host (see _guard)
            report_internal_error("OpenTelemetryCallbackHandler.on_llm_error", internal)

    # --- tools ----------------------------------------------------------------------------------------

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
                attributes[sc.GEN_AI_TOOL_DESCRIPTION] = description[: self._settings.max_content_length]
            call_id = kwargs.get("tool_call_id")
            if isinstance(call_id, str) and call_id:
                attributes[sc.GEN_AI_TOOL_CALL_ID] = call_id
            if self._settings.capture_content:
                attributes[sc.INPUT] = self._capture(inputs if inputs is not None else input_str)
            span_name = f"{sc.OP_EXECUTE_TOOL} {name}"
            self._start(run_id, parent_run_id, span_name, SpanKind.INTERNAL, "tool", name, attributes, tags, metadata)
        except Exception as internal:  # noqa: BLE001 - never raise into the host (see _guard)
            report_internal_error("OpenTelemetryCallbackHandler.on_tool_start", internal)

    def on_tool_end(self, output: Any, *, run_id: UUID, parent_run_id: UUID | None = None, **kwargs: Any) -> None:
        """End a tool span."""
        try:
            run = self._finish(run_id)
            if run is None:
                return
            self._add_subtree_usage(run)
            if self._settings.capture_content:
                run.span.set_attribute(sc.OUTPUT, self._capture(getattr(output, "content", output)))
            run.span.end()
        except Exception as internal:  # noqa: BLE001 - never raise into the host (see _guard)
            report_internal_error("OpenTelemetryCallbackHandler.on_tool_end", internal)

    def on_tool_error(
        self, error: BaseException, *, run_id: UUID, parent_run_id: UUID | None = None, **kwargs: Any
    ) -> None:
        """End a tool span as failed or cancelled."""
        try:
            run = self._end_with_error(run_id, error)
            if run is not None:
                self._add_subtree_usage(run)
                run.span.end()
        except Exception as internal:  # noqa: BLE001 - never raise into the host (see _guard)
            report_internal_error("OpenTelemetryCallbackHandler.on_tool_error", internal)

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
            if self._settings.capture_content:
                attributes[sc.INPUT] = self._capture(query)
            span_name = f"{sc.OP_RETRIEVAL} {name}"
            self._start(
                run_id, parent_run_id, span_name, SpanKind.CLIENT, "retriever", name, attributes, tags, metadata
            )
        except Exception as internal:  # noqa: BLE001 - never raise into the host (see _guard)
            report_internal_error("OpenTelemetryCallbackHandler.on_retriever_start", internal)

    def on_retriever_end(
        self, documents: Sequence[Any], *, run_id: UUID, parent_run_id: UUID | None = None, **kwargs: Any
    ) -> None:
        """End a retriever span with the number of documents returned."""
        try:
            run = self._finish(run_id)
            if run is None:
                return
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
            run.span.end()
        except Exception as internal:  # noqa: BLE001 - never raise into the host (see _guard)
            report_internal_error("OpenTelemetryCallbackHandler.on_retriever_end", internal)

    def on_retriever_error(
        self, error: BaseException, *, run_id: UUID, parent_run_id: UUID | None = None, **kwargs: Any
    ) -> None:
        """End a retriever span as failed or cancelled."""
        try:
            run = self._end_with_error(run_id, error)
            if run is not None:
                run.span.end()
        except Exception as internal:  # noqa: BLE001 - never raise into the host (see _guard)
            report_internal_error("OpenTelemetryCallbackHandler.on_retriever_error", internal)

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
            attributes: Attributes = {sc.EVENT_CUSTOM_NAME: str(name)}
            if self._settings.capture_content:
                attributes[sc.EVENT_CUSTOM_DATA] = self._capture(data)
            run.span.add_event(sc.EVENT_CUSTOM, attributes)
        except Exception as internal:  # noqa: BLE001 - never raise into the host (see _guard)
            report_internal_error("OpenTelemetryCallbackHandler.on_custom_event", internal)

    def on_retry(self, retry_state: Any, *, run_id: UUID, parent_run_id: UUID | None = None, **kwargs: Any) -> None:
        """Record a retry of a model call as a span event with the attempt number."""
        try:
            run = self._runs.get(run_id)
            if run is None:
                return
            attributes: Attributes = {}
            attempt = getattr(retry_state, "attempt_number", None)
            if isinstance(attempt, int):
                attributes[sc.EVENT_RETRY_ATTEMPT] = attempt
            outcome = getattr(retry_state, "outcome", None)
            if outcome is not None and getattr(outcome, "failed", False):
                # tenacity's internals vary between versions: the error type is a bonus, never a failure.
                with contextlib.suppress(Exception):
                    attributes[sc.ERROR_TYPE] = _errors.error_type(outcome.exception())
            run.span.add_event(sc.EVENT_RETRY, attributes)
        except Exception as internal:  # noqa: BLE001 - never raise into the host (see _guard)
            report_internal_error("OpenTelemetryCallbackHandler.on_retry", internal)


__all__ = ["OpenTelemetryCallbackHandler"]

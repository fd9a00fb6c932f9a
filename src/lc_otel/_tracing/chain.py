"""The callbacks of chains and agents: chain spans, ``invoke_agent`` spans, agent actions."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from opentelemetry.trace import SpanKind

from lc_otel._attributes import semconv as sc
from lc_otel._attributes.tags_metadata import Attributes, is_mapping, run_name
from lc_otel._internal_errors import report_internal_error
from lc_otel._tracing.run_spans import RunSpans
from lc_otel._tracing.run_table import Run

_LEGACY_AGENT_NAMES = frozenset({"AgentExecutor"})


class ChainCallbacks(RunSpans):
    """The callbacks of chains and agents: chain spans, ``invoke_agent`` spans, agent actions."""

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
            try:
                self._add_subtree_usage(run)
                if self._settings.capture_content:
                    if "inputs" in kwargs:  # a streamed run reports its real input only now
                        run.span.set_attribute(sc.INPUT, self._capture(kwargs["inputs"]))
                    run.span.set_attribute(sc.OUTPUT, self._capture(outputs))
            finally:
                run.span.end()
        except Exception as internal:  # noqa: BLE001 - never raise into the host (see _guard)
            report_internal_error("OpenTelemetryCallbackHandler.on_chain_end", internal)

    def on_chain_error(
        self, error: BaseException, *, run_id: UUID, parent_run_id: UUID | None = None, **kwargs: Any
    ) -> None:
        """End a chain span as failed or cancelled."""
        try:
            self._end_failed(run_id, error)
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

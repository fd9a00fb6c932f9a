"""The callbacks of chains and agents: chain spans, ``invoke_agent`` spans, agent actions."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from opentelemetry.trace import SpanKind

from lc_otel._attributes import agents as _agents
from lc_otel._attributes import messages as _messages
from lc_otel._attributes import semconv as sc
from lc_otel._attributes.redaction import coerce_text
from lc_otel._attributes.tags_metadata import Attributes, is_mapping, run_name
from lc_otel._internal_errors import report_internal_error
from lc_otel._tracing.run_spans import RunSpans
from lc_otel._tracing.run_table import Run


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
            agent_name: str | None = None
            if metadata and is_mapping(metadata):
                declared = metadata.get("lc_agent_name")
                if isinstance(declared, str) and declared:
                    # A (sub)agent starts where lc_agent_name is set and differs from the parent's, as LangChain says.
                    parent = self._parent_of(parent_run_id)
                    if parent is None or parent.agent_name != declared:
                        agent_name = declared
                if "langgraph_node" in metadata and _agents.graph_node(name, metadata, tags):
                    graph = self._parent_of(parent_run_id)  # a graph tells what it is by its first node
                    if graph is not None and graph.operation is None:
                        self._classify_graph(graph, name, metadata)
            if agent_name is None and name in _agents.LEGACY_AGENT_NAMES:
                agent_name = name
            if _agents.plans_for_legacy_agent(inputs):
                self._mark_planning_agent(parent_run_id, inputs)
            span_name = name
            if agent_name is not None:
                span_name = f"{sc.OP_INVOKE_AGENT} {agent_name}"
                attributes[sc.GEN_AI_OPERATION_NAME] = sc.OP_INVOKE_AGENT
                attributes[sc.GEN_AI_AGENT_NAME] = agent_name
            if self._settings.capture_content and not kwargs.get("defers_inputs"):
                attributes[sc.INPUT] = self._capture(inputs)
            run = self._start(
                run_id,
                parent_run_id,
                span_name,
                SpanKind.INTERNAL,
                run_type,
                name,
                attributes,
                tags,
                metadata,
                agent_name=agent_name,
            )
            if run is not None and agent_name is not None:
                run.operation = sc.OP_INVOKE_AGENT
                if self._settings.capture_content:
                    self._add_agent_inputs(run, inputs)
        except Exception as internal:  # noqa: BLE001 - never raise into the host (see lc_otel._internal_errors)
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
                    if run.operation is not None:
                        self._add_agent_messages(run, outputs)
            finally:
                run.span.end()
        except Exception as internal:  # noqa: BLE001 - never raise into the host (see lc_otel._internal_errors)
            report_internal_error("OpenTelemetryCallbackHandler.on_chain_end", internal)

    def on_chain_error(
        self, error: BaseException, *, run_id: UUID, parent_run_id: UUID | None = None, **kwargs: Any
    ) -> None:
        """End a chain span as failed or cancelled."""
        self._end_failed_guarded(run_id, error, "on_chain_error")

    def _parent_of(self, parent_run_id: UUID | None) -> Run | None:
        if parent_run_id is None:
            return None
        return self._open.get(getattr(parent_run_id, "int", parent_run_id))  # run_key(parent_run_id), inline

    def _mark_planning_agent(self, parent_run_id: UUID | None, inputs: Any) -> None:
        """Mark the ``AgentExecutor`` above a planning step as an agent, before the step's model call starts.

        An executor started under a ``run_name`` of its own cannot be told from a chain at its start; its
        planning step can. The runs in between (the agent's ``RunnableSequence``) started without an agent, so
        they get its name too, for the model call below them to inherit.
        """
        between: list[Run] = []
        executor = self._parent_of(parent_run_id)
        while (
            executor is not None and len(between) < 4 and _agents.is_composition(getattr(executor.span, "name", None))
        ):
            between.append(executor)
            executor = executor.parent
        if executor is None or executor.operation is not None:
            return
        self._mark_legacy_agent(executor)
        for run in between:
            run.agent_name = executor.agent_name
        if self._settings.capture_content:
            self._add_agent_inputs(executor, inputs)

    def _add_agent_inputs(self, run: Run, inputs: Any) -> None:
        messages = _agents.agent_input_messages(inputs, self._redactor)
        if messages:
            run.span.set_attribute(
                sc.GEN_AI_INPUT_MESSAGES, _messages.messages_json(messages, self._settings.max_content_length)
            )

    @staticmethod
    def _mark_legacy_agent(run: Run) -> None:
        """Make the run a legacy agent gets actions on an ``invoke_agent`` span, whatever its run name.

        A legacy ``AgentExecutor`` started with a ``run_name`` cannot be told from a chain at its start
        (``serialized`` is ``None``); its planning step, or else its first agent action or finish, tells.
        """
        if run.operation is not None:
            return
        run.operation = sc.OP_INVOKE_AGENT
        name = getattr(run.span, "name", None)
        if not isinstance(name, str) or not name:
            return
        agent_name = name.removeprefix(f"{sc.OP_INVOKE_AGENT} ")
        run.agent_name = agent_name
        run.span.update_name(f"{sc.OP_INVOKE_AGENT} {agent_name}")
        run.span.set_attributes({sc.GEN_AI_OPERATION_NAME: sc.OP_INVOKE_AGENT, sc.GEN_AI_AGENT_NAME: agent_name})

    def _classify_graph(self, graph: Run, first_node: str, metadata: dict[str, Any]) -> None:
        """Make a compiled LangGraph graph's span ``invoke_agent`` or ``invoke_workflow``, at its first node."""
        name = getattr(graph.span, "name", None)  # the graph's run name: its span is not renamed yet
        if _agents.graph_is_agent(first_node, metadata):
            graph.operation = sc.OP_INVOKE_AGENT
            if not isinstance(name, str) or not name:
                return
            inherited = graph.parent.agent_name if graph.parent is not None else None
            agent_name = self._redactor.name(_agents.agent_name(metadata, name, inherited))  # a name: see _start
            graph.agent_name = agent_name  # its steps say which agent made them
            graph.span.update_name(f"{sc.OP_INVOKE_AGENT} {agent_name}")
            graph.span.set_attributes({sc.GEN_AI_OPERATION_NAME: sc.OP_INVOKE_AGENT, sc.GEN_AI_AGENT_NAME: agent_name})
            return
        graph.operation = sc.OP_INVOKE_WORKFLOW
        if not isinstance(name, str) or not name:
            return
        graph.span.update_name(f"{sc.OP_INVOKE_WORKFLOW} {name}")
        graph.span.set_attributes({sc.GEN_AI_OPERATION_NAME: sc.OP_INVOKE_WORKFLOW, sc.GEN_AI_WORKFLOW_NAME: name})

    def _add_agent_messages(self, run: Run, outputs: Any) -> None:
        """Record what an agent or workflow was asked and answered (content capture only)."""
        inputs, answer = _agents.agent_messages(outputs, self._redactor)
        limit = self._settings.max_content_length
        if inputs:
            run.span.set_attribute(sc.GEN_AI_INPUT_MESSAGES, _messages.messages_json(inputs, limit))
        if answer:
            run.span.set_attribute(sc.GEN_AI_OUTPUT_MESSAGES, _messages.messages_json(answer, limit))

    def on_agent_action(self, action: Any, *, run_id: UUID, parent_run_id: UUID | None = None, **kwargs: Any) -> None:
        """Record a legacy agent's decision to call a tool as a span event."""
        try:
            run = self._runs.get(run_id)
            if run is None:
                return
            self._mark_legacy_agent(run)
            attributes: Attributes = {
                sc.GEN_AI_TOOL_NAME: self._redactor.name(coerce_text(getattr(action, "tool", "")))
            }
            if self._settings.capture_content:
                attributes["langchain.agent.log"] = self._capture(getattr(action, "log", ""))
                attributes[sc.GEN_AI_TOOL_CALL_ARGUMENTS] = self._capture(getattr(action, "tool_input", ""))
            run.span.add_event(sc.EVENT_AGENT_ACTION, attributes)
        except Exception as internal:  # noqa: BLE001 - never raise into the host (see lc_otel._internal_errors)
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
        except Exception as internal:  # noqa: BLE001 - never raise into the host (see lc_otel._internal_errors)
            report_internal_error("OpenTelemetryCallbackHandler.on_agent_finish", internal)

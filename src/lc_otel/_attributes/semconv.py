"""Attribute names lc_otel writes, in one place.

GenAI names follow the OpenTelemetry GenAI semantic conventions
(https://github.com/open-telemetry/semantic-conventions-genai, baseline v1.41.1). The upstream Python constants
are deprecated, so lc_otel owns its names here. ``langchain.*`` names are lc_otel's own namespace.
"""

from __future__ import annotations

from typing import Final

# --- GenAI semantic conventions -------------------------------------------------------------------------
GEN_AI_OPERATION_NAME: Final = "gen_ai.operation.name"
GEN_AI_PROVIDER_NAME: Final = "gen_ai.provider.name"
GEN_AI_CONVERSATION_ID: Final = "gen_ai.conversation.id"
GEN_AI_REQUEST_MODEL: Final = "gen_ai.request.model"
GEN_AI_REQUEST_TEMPERATURE: Final = "gen_ai.request.temperature"
GEN_AI_REQUEST_TOP_P: Final = "gen_ai.request.top_p"
GEN_AI_REQUEST_TOP_K: Final = "gen_ai.request.top_k"
GEN_AI_REQUEST_MAX_TOKENS: Final = "gen_ai.request.max_tokens"
GEN_AI_REQUEST_STOP_SEQUENCES: Final = "gen_ai.request.stop_sequences"
GEN_AI_REQUEST_SEED: Final = "gen_ai.request.seed"
GEN_AI_REQUEST_FREQUENCY_PENALTY: Final = "gen_ai.request.frequency_penalty"
GEN_AI_REQUEST_PRESENCE_PENALTY: Final = "gen_ai.request.presence_penalty"
GEN_AI_REQUEST_CHOICE_COUNT: Final = "gen_ai.request.choice.count"
GEN_AI_REQUEST_STREAM: Final = "gen_ai.request.stream"
GEN_AI_RESPONSE_MODEL: Final = "gen_ai.response.model"
GEN_AI_RESPONSE_ID: Final = "gen_ai.response.id"
GEN_AI_RESPONSE_FINISH_REASONS: Final = "gen_ai.response.finish_reasons"
GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK: Final = "gen_ai.response.time_to_first_chunk"
GEN_AI_USAGE_INPUT_TOKENS: Final = "gen_ai.usage.input_tokens"
GEN_AI_USAGE_OUTPUT_TOKENS: Final = "gen_ai.usage.output_tokens"
GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS: Final = "gen_ai.usage.cache_read.input_tokens"
GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS: Final = "gen_ai.usage.cache_write.input_tokens"
GEN_AI_USAGE_REASONING_OUTPUT_TOKENS: Final = "gen_ai.usage.reasoning.output_tokens"
GEN_AI_INPUT_MESSAGES: Final = "gen_ai.input.messages"
GEN_AI_OUTPUT_MESSAGES: Final = "gen_ai.output.messages"
GEN_AI_SYSTEM_INSTRUCTIONS: Final = "gen_ai.system_instructions"
GEN_AI_TOOL_NAME: Final = "gen_ai.tool.name"
GEN_AI_TOOL_CALL_ID: Final = "gen_ai.tool.call.id"
GEN_AI_TOOL_DESCRIPTION: Final = "gen_ai.tool.description"
GEN_AI_TOOL_TYPE: Final = "gen_ai.tool.type"
GEN_AI_TOOL_CALL_ARGUMENTS: Final = "gen_ai.tool.call.arguments"
GEN_AI_TOOL_CALL_RESULT: Final = "gen_ai.tool.call.result"
GEN_AI_AGENT_NAME: Final = "gen_ai.agent.name"
GEN_AI_DATA_SOURCE_ID: Final = "gen_ai.data_source.id"
ERROR_TYPE: Final = "error.type"
SERVER_ADDRESS: Final = "server.address"
SERVER_PORT: Final = "server.port"

# gen_ai.operation.name values
OP_CHAT: Final = "chat"
OP_TEXT_COMPLETION: Final = "text_completion"
OP_EXECUTE_TOOL: Final = "execute_tool"
OP_RETRIEVAL: Final = "retrieval"
OP_INVOKE_AGENT: Final = "invoke_agent"

# --- lc_otel's own namespace ----------------------------------------------------------------------------
RUN_ID: Final = "langchain.run.id"
RUN_PARENT_ID: Final = "langchain.run.parent_id"
RUN_TYPE: Final = "langchain.run.type"
RUN_NAME: Final = "langchain.run.name"
RUN_CANCELLED: Final = "langchain.run.cancelled"
RUN_EVICTED: Final = "langchain.run.evicted"
TAGS: Final = "langchain.tags"
TAG_PREFIX: Final = "langchain.tag."
METADATA_PREFIX: Final = "langchain.metadata."
INPUT: Final = "langchain.input"
OUTPUT: Final = "langchain.output"
USAGE_INPUT_TOKENS: Final = "langchain.usage.input_tokens"
USAGE_OUTPUT_TOKENS: Final = "langchain.usage.output_tokens"
USAGE_TOTAL_TOKENS: Final = "langchain.usage.total_tokens"
STREAM_TIME_TO_FIRST_CHUNK: Final = "langchain.stream.time_to_first_chunk"
STREAM_CHUNK_COUNT: Final = "langchain.stream.chunk_count"
RETRIEVER_DOCUMENT_COUNT: Final = "langchain.retriever.document_count"
LANGGRAPH_NODE: Final = "langgraph.node"
LANGGRAPH_STEP: Final = "langgraph.step"
LANGGRAPH_CONTROL_FLOW: Final = "langgraph.control_flow"
"""The LangGraph control-flow exception (``GraphInterrupt``, ``ParentCommand``) a run ended with."""

# Span event names.
EVENT_AGENT_ACTION: Final = "langchain.agent.action"
EVENT_AGENT_FINISH: Final = "langchain.agent.finish"
EVENT_CUSTOM: Final = "langchain.custom_event"
EVENT_CUSTOM_NAME: Final = "langchain.custom_event.name"
EVENT_CUSTOM_DATA: Final = "langchain.custom_event.data"
EVENT_RETRY: Final = "langchain.retry"
EVENT_RETRY_ATTEMPT: Final = "langchain.retry.attempt"
EVENT_STREAM_CHUNK: Final = "langchain.stream.chunk"

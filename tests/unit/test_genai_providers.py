"""GenAI attributes from each provider shape LangChain produces, built from LangChain's own message objects."""

from __future__ import annotations

import math
from typing import Any

import pytest
from langchain_core.messages import AIMessage
from langchain_core.outputs import ChatGeneration, Generation, LLMResult

from lc_otel._attributes import genai as _genai
from lc_otel._attributes.tags_metadata import Attributes


def result(message: AIMessage | None = None, llm_output: Any = None, **generation_info: Any) -> LLMResult:
    if message is None:
        generation: Generation = Generation(text="done", generation_info=generation_info or None)
    else:
        generation = ChatGeneration(message=message, generation_info=generation_info or None)
    return LLMResult(generations=[[generation]], llm_output=llm_output)


def response(value: LLMResult) -> Attributes:
    attributes: Attributes = {}
    _genai.response_attributes(value, attributes)
    return attributes


USAGE = "gen_ai.usage."

# Each case: LangChain's objects as the integration builds them → the attributes the span must carry.
PROVIDER_RESPONSES: dict[str, tuple[LLMResult, Attributes]] = {
    "openai": (
        result(
            AIMessage(
                "hi",
                id="chatcmpl-1",
                usage_metadata={
                    "input_tokens": 11,
                    "output_tokens": 2,
                    "total_tokens": 13,
                    "input_token_details": {"cache_read": 5},
                    "output_token_details": {"reasoning": 1},
                },
                response_metadata={
                    "model_name": "gpt-4o-2024-08-06",
                    "id": "chatcmpl-1",
                    "finish_reason": "stop",
                    "model_provider": "openai",
                },
            ),
            llm_output={"token_usage": {"prompt_tokens": 999}, "model_name": "ignored-when-metadata-says"},
        ),
        {
            "gen_ai.response.model": "gpt-4o-2024-08-06",
            "gen_ai.response.id": "chatcmpl-1",
            "gen_ai.response.finish_reasons": ["stop"],
            USAGE + "input_tokens": 11,
            USAGE + "output_tokens": 2,
            USAGE + "cache_read.input_tokens": 5,
            USAGE + "reasoning.output_tokens": 1,
        },
    ),
    "anthropic": (
        result(
            AIMessage(
                "hi",
                id="msg_01",
                # langchain-anthropic counts cached tokens into input_tokens, as the conventions want.
                usage_metadata={
                    "input_tokens": 20,
                    "output_tokens": 5,
                    "total_tokens": 25,
                    "input_token_details": {"cache_read": 3, "cache_creation": 7},
                },
                response_metadata={
                    "id": "msg_01",
                    "model": "claude-sonnet-4-20250514",
                    "model_name": "claude-sonnet-4-20250514",
                    "stop_reason": "end_turn",
                    "usage": {"input_tokens": 10, "output_tokens": 5},
                },
            )
        ),
        {
            "gen_ai.response.model": "claude-sonnet-4-20250514",
            "gen_ai.response.id": "msg_01",
            "gen_ai.response.finish_reasons": ["end_turn"],
            USAGE + "input_tokens": 20,
            USAGE + "output_tokens": 5,
            USAGE + "cache_read.input_tokens": 3,
            USAGE + "cache_write.input_tokens": 7,
            USAGE + "cache_creation.input_tokens": 7,
        },
    ),
    "anthropic-raw-llm-output": (
        result(
            AIMessage("hi", id="lc_run--0199"),
            llm_output={
                "id": "msg_02",
                "model": "claude-3-5-haiku",
                "usage": {
                    "input_tokens": 10,
                    "output_tokens": 5,
                    "cache_read_input_tokens": 3,
                    "cache_creation_input_tokens": 7,
                },
            },
        ),
        {
            "gen_ai.response.model": "claude-3-5-haiku",
            "gen_ai.response.id": "msg_02",
            USAGE + "input_tokens": 20,  # Anthropic's raw input_tokens excludes the cache: added back
            USAGE + "output_tokens": 5,
            USAGE + "cache_read.input_tokens": 3,
            USAGE + "cache_write.input_tokens": 7,
            USAGE + "cache_creation.input_tokens": 7,
        },
    ),
    "bedrock-converse": (
        result(
            AIMessage(
                "hi",
                usage_metadata={
                    "input_tokens": 30,
                    "output_tokens": 8,
                    "total_tokens": 38,
                    "input_token_details": {"cache_read": 10, "cache_creation": 0},
                },
                response_metadata={
                    "ResponseMetadata": {"RequestId": "r-1", "HTTPStatusCode": 200},
                    "stopReason": "end_turn",
                    "metrics": {"latencyMs": [120]},
                    "model_name": "anthropic.claude-3-haiku-20240307-v1:0",
                },
            )
        ),
        {
            "gen_ai.response.model": "anthropic.claude-3-haiku-20240307-v1:0",
            "gen_ai.response.finish_reasons": ["end_turn"],
            USAGE + "input_tokens": 30,
            USAGE + "output_tokens": 8,
            USAGE + "cache_read.input_tokens": 10,
        },
    ),
    "bedrock-legacy": (
        result(
            AIMessage("hi"),
            llm_output={
                "usage": {"prompt_tokens": 30, "completion_tokens": 8, "total_tokens": 38},
                "model_id": "meta.llama3-8b-instruct-v1:0",
            },
        ),
        {
            "gen_ai.response.model": "meta.llama3-8b-instruct-v1:0",
            USAGE + "input_tokens": 30,
            USAGE + "output_tokens": 8,
        },
    ),
    "bedrock-raw-camel-case": (
        result(
            AIMessage("hi"),
            llm_output={
                "usage": {
                    "inputTokens": 30,
                    "outputTokens": 8,
                    "totalTokens": 50,
                    "cacheReadInputTokens": 10,
                    "cacheWriteInputTokens": 2,
                }
            },
        ),
        {
            USAGE + "input_tokens": 42,
            USAGE + "output_tokens": 8,
            USAGE + "cache_read.input_tokens": 10,
            USAGE + "cache_write.input_tokens": 2,
            USAGE + "cache_creation.input_tokens": 2,
        },
    ),
    "gemini": (
        result(
            AIMessage(
                "hi",
                usage_metadata={
                    "input_tokens": 100,
                    "output_tokens": 60,
                    "total_tokens": 160,
                    "input_token_details": {"cache_read": 40},
                    "output_token_details": {"reasoning": 20},
                },
                response_metadata={"finish_reason": "STOP", "model_name": "gemini-2.5-flash", "safety_ratings": []},
            )
        ),
        {
            "gen_ai.response.model": "gemini-2.5-flash",
            "gen_ai.response.finish_reasons": ["STOP"],
            USAGE + "input_tokens": 100,
            USAGE + "output_tokens": 60,
            USAGE + "cache_read.input_tokens": 40,
            USAGE + "reasoning.output_tokens": 20,
        },
    ),
    "gemini-raw": (
        result(
            AIMessage("hi"),
            llm_output={
                "usage_metadata": {
                    "prompt_token_count": 100,
                    "candidates_token_count": 40,
                    "thoughts_token_count": 20,
                    "cached_content_token_count": 40,
                    "total_token_count": 160,
                }
            },
        ),
        {
            USAGE + "input_tokens": 100,
            USAGE + "output_tokens": 60,  # candidates exclude thoughts; the convention's output includes them
            USAGE + "cache_read.input_tokens": 40,
            USAGE + "reasoning.output_tokens": 20,
        },
    ),
    "ollama": (
        result(
            AIMessage(
                "hi",
                usage_metadata={"input_tokens": 26, "output_tokens": 12, "total_tokens": 38},
                response_metadata={
                    "model": "llama3.1",
                    "created_at": "2025-01-01T00:00:00Z",
                    "done": True,
                    "done_reason": "stop",
                    "prompt_eval_count": 26,
                    "eval_count": 12,
                    "model_name": "llama3.1",
                },
            )
        ),
        {
            "gen_ai.response.model": "llama3.1",
            "gen_ai.response.finish_reasons": ["stop"],
            USAGE + "input_tokens": 26,
            USAGE + "output_tokens": 12,
        },
    ),
    "ollama-metadata-only": (
        result(
            AIMessage(
                "hi",
                response_metadata={"model": "qwen2", "done_reason": "length", "prompt_eval_count": 9, "eval_count": 4},
            )
        ),
        {
            "gen_ai.response.model": "qwen2",
            "gen_ai.response.finish_reasons": ["length"],
            USAGE + "input_tokens": 9,
            USAGE + "output_tokens": 4,
        },
    ),
    "openai-legacy-completion": (
        result(
            None,
            llm_output={
                "token_usage": {"prompt_tokens": 5, "completion_tokens": 7, "total_tokens": 12},
                "model_name": "gpt-3.5-turbo-instruct",
            },
            finish_reason="length",
        ),
        {
            "gen_ai.response.model": "gpt-3.5-turbo-instruct",
            "gen_ai.response.finish_reasons": ["length"],
            USAGE + "input_tokens": 5,
            USAGE + "output_tokens": 7,
        },
    ),
}


@pytest.mark.parametrize("case", list(PROVIDER_RESPONSES))
def test_response_attributes_per_provider(case: str) -> None:
    value, expected = PROVIDER_RESPONSES[case]
    assert response(value) == expected


def test_usage_metadata_is_summed_over_generations_and_total_kept() -> None:
    value = LLMResult(
        generations=[
            [
                ChatGeneration(
                    message=AIMessage("a", usage_metadata={"input_tokens": 1, "output_tokens": 2, "total_tokens": 3})
                )
            ],
            [
                ChatGeneration(
                    message=AIMessage("b", usage_metadata={"input_tokens": 4, "output_tokens": 5, "total_tokens": 9})
                )
            ],
        ]
    )
    _, usage = _genai.response_model_and_usage(value)
    assert usage is not None
    assert (usage.input_tokens, usage.output_tokens, usage.total_tokens) == (5, 7, 12)


def test_langchain_made_up_message_ids_are_not_response_ids() -> None:
    assert response(result(AIMessage("x", id="lc_run--0199abc"))).get("gen_ai.response.id") is None
    assert response(result(AIMessage("x", id="run-0199abc"))).get("gen_ai.response.id") is None
    assert response(result(AIMessage("x", id="msg_123"))).get("gen_ai.response.id") == "msg_123"


# --- request side ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ls_provider", "expected"),
    [
        ("openai", "openai"),
        ("anthropic", "anthropic"),
        ("amazon_bedrock", "aws.bedrock"),
        ("bedrock_converse", "aws.bedrock"),
        ("google_genai", "gcp.gen_ai"),
        ("google_vertexai", "gcp.vertex_ai"),
        ("azure", "azure.ai.openai"),
        ("mistralai", "mistral_ai"),
        ("ollama", "ollama"),
        ("Some-New-Provider", "some-new-provider"),
    ],
)
def test_provider_names_map_to_the_conventions(ls_provider: str, expected: str) -> None:
    assert _genai.provider_name({"ls_provider": ls_provider}, None) == expected


def test_provider_falls_back_to_llm_type_and_else_is_absent() -> None:
    assert _genai.provider_name({}, {"_type": "openai-chat"}) == "openai"
    assert _genai.provider_name(None, None) is None
    assert _genai.provider_name({"ls_provider": 42}, {"_type": None}) is None


def request(metadata: dict[str, Any], params: dict[str, Any], serialized: dict[str, Any] | None = None) -> Attributes:
    attributes: Attributes = {}
    model = _genai.request_model(metadata, params, serialized)
    _genai.request_attributes(
        "chat", model, metadata=metadata, invocation_params=params, serialized=serialized, into=attributes
    )
    return attributes


def test_anthropic_request_parameters() -> None:
    attributes = request(
        {"ls_provider": "anthropic", "ls_model_name": "claude-sonnet-4"},
        {
            "model": "claude-sonnet-4",
            "max_tokens": 1024,
            "temperature": 0.5,
            "top_k": 40,
            "top_p": 0.9,
            "stop_sequences": ["\n\nHuman:"],
        },
    )
    assert attributes == {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "anthropic",
        "gen_ai.request.model": "claude-sonnet-4",
        "gen_ai.request.max_tokens": 1024,
        "gen_ai.request.temperature": 0.5,
        "gen_ai.request.top_k": 40,
        "gen_ai.request.top_p": 0.9,
        "gen_ai.request.stop_sequences": ["\n\nHuman:"],
    }


def test_openai_request_parameters_and_server() -> None:
    attributes = request(
        {"ls_provider": "openai", "ls_model_name": "gpt-4o"},
        {
            "model": "gpt-4o",
            "max_completion_tokens": 200,
            "frequency_penalty": 0.1,
            "presence_penalty": 0.2,
            "seed": 42,
            "n": 3,
            "stop": "END",
        },
        {
            "kwargs": {
                "openai_api_base": "https://llm.example.com:8443/v1",
                "openai_api_key": {"lc": 1, "type": "secret"},
            }
        },
    )
    assert attributes["gen_ai.request.max_tokens"] == 200
    assert attributes["gen_ai.request.frequency_penalty"] == 0.1
    assert attributes["gen_ai.request.presence_penalty"] == 0.2
    assert attributes["gen_ai.request.seed"] == 42
    assert attributes["gen_ai.request.choice.count"] == 3
    assert attributes["gen_ai.request.stop_sequences"] == ["END"]
    assert attributes["server.address"] == "llm.example.com"
    assert attributes["server.port"] == 8443


def test_bedrock_ls_parameters_and_model_id() -> None:
    attributes = request(
        {"ls_provider": "amazon_bedrock", "ls_temperature": 0.3, "ls_max_tokens": 512},
        {"model_id": "anthropic.claude-3-haiku-20240307-v1:0"},
    )
    assert attributes["gen_ai.provider.name"] == "aws.bedrock"
    assert attributes["gen_ai.request.model"] == "anthropic.claude-3-haiku-20240307-v1:0"
    assert attributes["gen_ai.request.temperature"] == 0.3
    assert attributes["gen_ai.request.max_tokens"] == 512


def test_ollama_and_gemini_token_limits() -> None:
    assert (
        request({"ls_provider": "ollama"}, {"model": "llama3", "num_predict": 100})["gen_ai.request.max_tokens"] == 100
    )
    gemini = request({"ls_provider": "google_genai"}, {"model": "gemini-2.5-flash", "max_output_tokens": 256})
    assert gemini["gen_ai.request.max_tokens"] == 256
    assert gemini["gen_ai.provider.name"] == "gcp.gen_ai"


# --- bad input: coerced or dropped, never raised --------------------------------------------------------

BAD_COUNTS = [None, -5, "abc", "", math.nan, math.inf, True, [1], {"n": 1}, object()]


@pytest.mark.parametrize("bad", BAD_COUNTS, ids=repr)
def test_bad_usage_values_are_dropped(bad: Any) -> None:
    message = AIMessage("x")
    # Bypass pydantic validation, as a misbehaving integration could.
    object.__setattr__(message, "usage_metadata", {"input_tokens": bad, "output_tokens": 3, "total_tokens": bad})
    attributes = response(result(message))
    assert attributes[USAGE + "input_tokens"] == 0
    assert attributes[USAGE + "output_tokens"] == 3


def test_digit_strings_are_counts() -> None:
    _, usage = _genai.response_model_and_usage(
        result(AIMessage("x"), llm_output={"token_usage": {"prompt_tokens": " 12 ", "completion_tokens": "3"}})
    )
    assert usage is not None
    assert (usage.input_tokens, usage.output_tokens, usage.total_tokens) == (12, 3, 15)


@pytest.mark.parametrize(
    "value",
    [
        None,
        "not a result",
        LLMResult(generations=[]),
        LLMResult(generations=[[]], llm_output={"token_usage": "lots"}),
        LLMResult(generations=[[Generation(text="x")]], llm_output={"usage": {"unrelated": 1}}),
    ],
    ids=["none", "string", "empty", "usage-string", "usage-unknown-keys"],
)
def test_missing_or_odd_responses_give_no_usage(value: Any) -> None:
    attributes: Attributes = {}
    assert _genai.response_attributes(value, attributes) is None
    assert attributes == {}


def test_empty_usage_metadata_falls_back_to_llm_output() -> None:
    message = AIMessage("x")
    object.__setattr__(message, "usage_metadata", {})
    _, usage = _genai.response_model_and_usage(
        result(message, llm_output={"token_usage": {"prompt_tokens": 4, "completion_tokens": 1}})
    )
    assert usage is not None
    assert (usage.input_tokens, usage.output_tokens) == (4, 1)


def test_odd_request_parameters_are_skipped() -> None:
    attributes = request(
        {"ls_provider": "", "ls_model_name": None, "ls_temperature": "hot"},
        {
            "temperature": math.nan,
            "top_p": "0.5",
            "max_tokens": -1,
            "seed": True,
            "stop": [1, 2],
            "n": 1,
            "top_k": None,
        },
    )
    assert attributes == {"gen_ai.operation.name": "chat"}


def test_a_parameter_left_unset_falls_back_to_the_next_key_and_to_ls_metadata() -> None:
    """``stop=None`` (LangChain's default) does not hide ``stop_sequences`` or ``ls_stop``; the first key set wins."""
    assert request({}, {"stop": None, "stop_sequences": ["END"]})["gen_ai.request.stop_sequences"] == ["END"]
    from_metadata = request({"ls_stop": ["\n"], "ls_temperature": 0.2}, {"stop": None, "temperature": None})
    assert from_metadata["gen_ai.request.stop_sequences"] == ["\n"]
    assert from_metadata["gen_ai.request.temperature"] == 0.2
    both = request({"ls_max_tokens": 5}, {"max_completion_tokens": 300, "max_tokens": None, "num_predict": 7})
    assert both["gen_ai.request.max_tokens"] == 300

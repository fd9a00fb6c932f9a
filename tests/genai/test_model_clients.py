"""The real ChatOpenAI and ChatAnthropic clients against local servers: what GenAI consumers read on the span.

Finish reasons are never made up (failed call, tool-call reply, broken stream), request parameters that only
the constructor knows are recorded, usage is per response, and messages use the conventions' parts.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from langchain_anthropic import ChatAnthropic
from langchain_core.messages import HumanMessage
from langchain_core.tools import tool
from langchain_openai import ChatOpenAI
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from lc_otel import OpenTelemetryCallbackHandler
from lc_otel._token_usage import token_usage
from tests.genai.anthropic_server import AnthropicServer
from tests.support.openai_server import OpenAIServer, openai_usage


def chat_openai(server: OpenAIServer, **kwargs: Any) -> ChatOpenAI:
    return ChatOpenAI(model="gpt-test", base_url=server.base_url, api_key="sk-test", max_retries=0, **kwargs)


def anthropic(**kwargs: Any) -> ChatAnthropic:
    # Through **kwargs: ChatAnthropic's pydantic aliases (model, stop_sequences) are not in its typed signature.
    return ChatAnthropic(**kwargs)


def only_span(exporter: InMemorySpanExporter) -> ReadableSpan:
    (span,) = exporter.get_finished_spans()
    return span


def attributes(span: ReadableSpan) -> dict[str, Any]:
    return dict(span.attributes or {})


def json_attribute(span: ReadableSpan, key: str) -> Any:
    return json.loads(str(attributes(span)[key]))


# --- 1. a finish reason is never made up -------------------------------------------------------------------


def test_a_failed_call_records_no_output_message_and_no_finish_reason(
    openai_server: OpenAIServer, capturing: OpenTelemetryCallbackHandler, exporter: InMemorySpanExporter
) -> None:
    openai_server.status = 401
    with pytest.raises(Exception, match="scripted failure"):
        chat_openai(openai_server).invoke("hi", {"callbacks": [capturing]})

    span = only_span(exporter)
    assert span.status.status_code is StatusCode.ERROR
    assert attributes(span)["error.type"] == "langchain_openai.chat_models.base.OpenAIAuthenticationError"
    assert "gen_ai.output.messages" not in attributes(span)
    assert "gen_ai.response.finish_reasons" not in attributes(span)
    assert json_attribute(span, "gen_ai.input.messages") == [
        {"role": "user", "parts": [{"type": "text", "content": "hi"}]}
    ]


def test_a_tool_call_reply_without_a_reported_reason_says_none(
    openai_server: OpenAIServer, capturing: OpenTelemetryCallbackHandler, exporter: InMemorySpanExporter
) -> None:
    openai_server.finish_reason = None
    openai_server.content = ""
    openai_server.tool_calls = [
        {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'}}
    ]
    chat_openai(openai_server).invoke("weather?", {"callbacks": [capturing]})

    span = only_span(exporter)
    assert "gen_ai.response.finish_reasons" not in attributes(span)
    assert json_attribute(span, "gen_ai.output.messages") == [
        {
            "role": "assistant",
            "parts": [{"type": "tool_call", "id": "call_1", "name": "get_weather", "arguments": {"city": "Paris"}}],
        }
    ]


def test_a_reported_reason_is_kept_as_the_provider_said_it(
    openai_server: OpenAIServer, capturing: OpenTelemetryCallbackHandler, exporter: InMemorySpanExporter
) -> None:
    openai_server.finish_reason = "tool_calls"
    openai_server.content = ""
    openai_server.tool_calls = [{"id": "c", "type": "function", "function": {"name": "f", "arguments": "{}"}}]
    chat_openai(openai_server).invoke("go", {"callbacks": [capturing]})

    span = only_span(exporter)
    assert attributes(span)["gen_ai.response.finish_reasons"] == ("tool_calls",)
    (message,) = json_attribute(span, "gen_ai.output.messages")
    assert message["finish_reason"] == "tool_calls"


def test_a_stream_broken_midway_keeps_what_came_and_no_finish_reason(
    openai_server: OpenAIServer, capturing: OpenTelemetryCallbackHandler, exporter: InMemorySpanExporter
) -> None:
    openai_server.content = "one two three four"
    openai_server.fail_stream_after = 3  # "one", " ", "two"
    received: list[str] = []

    def consume() -> None:
        for chunk in chat_openai(openai_server).stream("count", {"callbacks": [capturing]}):
            received.append(str(chunk.content))

    with pytest.raises(Exception, match="stream broken"):
        consume()

    span = only_span(exporter)
    assert span.status.status_code is StatusCode.ERROR
    assert "".join(received) == "one two"
    assert "gen_ai.response.finish_reasons" not in attributes(span)
    assert json_attribute(span, "gen_ai.output.messages") == [
        {"role": "assistant", "parts": [{"type": "text", "content": "one two"}]}
    ]


# --- 2. ChatAnthropic's stop sequences, known only to its constructor ----------------------------------------


def test_chat_anthropic_stop_sequences_and_server(
    anthropic_server: AnthropicServer, handler: OpenTelemetryCallbackHandler, exporter: InMemorySpanExporter
) -> None:
    model = anthropic(
        model="claude-test",
        base_url=anthropic_server.base_url,
        api_key="sk-ant-test",
        stop_sequences=["STOP", "END"],
        temperature=0.3,
        max_retries=0,
    )
    assert model.invoke("hi", {"callbacks": [handler]}).content == "Hello from Claude"

    assert anthropic_server.requests[0]["stop_sequences"] == ["STOP", "END"]
    span = only_span(exporter)
    assert span.name == "chat claude-test"
    found = attributes(span)
    assert found["gen_ai.provider.name"] == "anthropic"
    assert found["gen_ai.request.stop_sequences"] == ("STOP", "END")
    assert found["gen_ai.request.temperature"] == 0.3
    assert found["gen_ai.request.max_tokens"] == anthropic_server.requests[0]["max_tokens"]
    assert found["gen_ai.response.model"] == "claude-test-20250101"
    assert found["gen_ai.response.id"] == "msg_test_1"
    assert found["gen_ai.response.finish_reasons"] == ("end_turn",)
    assert found["server.address"] == "127.0.0.1"


def test_a_stop_given_to_the_call_wins_over_the_constructors(
    anthropic_server: AnthropicServer, handler: OpenTelemetryCallbackHandler, exporter: InMemorySpanExporter
) -> None:
    model = anthropic(
        model="claude-test", base_url=anthropic_server.base_url, api_key="sk-ant-test", stop_sequences=["STOP"]
    )
    model.invoke("hi", {"callbacks": [handler]}, stop=["HALT"])

    assert anthropic_server.requests[0]["stop_sequences"] == ["HALT"]
    assert attributes(only_span(exporter))["gen_ai.request.stop_sequences"] == ("HALT",)


# --- 3 and 8. usage: per response, and cache writes under both names --------------------------------------


def test_n_choices_count_the_responses_usage_once(
    openai_server: OpenAIServer, handler: OpenTelemetryCallbackHandler, exporter: InMemorySpanExporter
) -> None:
    openai_server.usage = openai_usage(12, 33)
    model = chat_openai(openai_server, n=3)
    with token_usage() as counted:
        result = model.generate([[HumanMessage("three ideas")]], callbacks=[handler])

    assert len(result.generations[0]) == 3  # three candidates, one response
    found = attributes(only_span(exporter))
    assert found["gen_ai.request.choice.count"] == 3
    assert (found["gen_ai.usage.input_tokens"], found["gen_ai.usage.output_tokens"]) == (12, 33)
    assert (counted.input_tokens, counted.output_tokens, counted.total_tokens, counted.calls) == (12, 33, 45, 1)


def test_anthropic_cache_writes_are_shown_under_both_names(
    anthropic_server: AnthropicServer, handler: OpenTelemetryCallbackHandler, exporter: InMemorySpanExporter
) -> None:
    anthropic_server.usage = {
        "input_tokens": 5,
        "output_tokens": 4,
        "cache_creation_input_tokens": 1200,
        "cache_read_input_tokens": 300,
    }
    anthropic(model="claude-test", base_url=anthropic_server.base_url, api_key="sk-ant-test").invoke(
        "hi", {"callbacks": [handler]}
    )

    found = attributes(only_span(exporter))
    assert found["gen_ai.usage.input_tokens"] == 1505  # the conventions count cached tokens as input
    assert found["gen_ai.usage.cache_read.input_tokens"] == 300
    # What Jaeger UI ("Cached (write)") and Phoenix read, and the conventions' current name.
    assert found["gen_ai.usage.cache_creation.input_tokens"] == 1200
    assert found["gen_ai.usage.cache_write.input_tokens"] == 1200


# --- 4. the legacy function_call ----------------------------------------------------------------------------


def test_a_legacy_function_call_reply_is_a_tool_call_part(
    openai_server: OpenAIServer, capturing: OpenTelemetryCallbackHandler, exporter: InMemorySpanExporter
) -> None:
    openai_server.finish_reason = "function_call"
    openai_server.function_call = {"name": "lookup", "arguments": '{"order_id": "4711"}'}
    reply = chat_openai(openai_server).invoke("where is my order?", {"callbacks": [capturing]})

    assert reply.additional_kwargs["function_call"]["name"] == "lookup"
    assert json_attribute(only_span(exporter), "gen_ai.output.messages") == [
        {
            "role": "assistant",
            "parts": [{"type": "tool_call", "id": None, "name": "lookup", "arguments": {"order_id": "4711"}}],
            "finish_reason": "function_call",
        }
    ]


# --- 9. the tools a model is offered ------------------------------------------------------------------------


@tool
def get_weather(city: str) -> str:
    """Get the weather for a city."""
    return f"sunny in {city}"


def test_bound_tools_are_tool_definitions_with_capture_on(
    openai_server: OpenAIServer, capturing: OpenTelemetryCallbackHandler, exporter: InMemorySpanExporter
) -> None:
    chat_openai(openai_server).bind_tools([get_weather]).invoke("weather?", {"callbacks": [capturing]})

    assert [t["function"]["name"] for t in openai_server.requests[0].body["tools"]] == ["get_weather"]
    assert json_attribute(only_span(exporter), "gen_ai.tool.definitions") == [
        {
            "type": "function",
            "name": "get_weather",
            "description": "Get the weather for a city.",
            "parameters": {"properties": {"city": {"type": "string"}}, "required": ["city"], "type": "object"},
        }
    ]


def test_anthropic_bound_tools_are_tool_definitions_too(
    anthropic_server: AnthropicServer, capturing: OpenTelemetryCallbackHandler, exporter: InMemorySpanExporter
) -> None:
    model = anthropic(model="claude-test", base_url=anthropic_server.base_url, api_key="sk-ant-test")
    model.bind_tools([get_weather]).invoke("weather?", {"callbacks": [capturing]})

    (definition,) = json_attribute(only_span(exporter), "gen_ai.tool.definitions")
    assert definition == {
        "type": "function",
        "name": "get_weather",
        "description": "Get the weather for a city.",
        "parameters": anthropic_server.requests[0]["tools"][0]["input_schema"],
    }


def test_tool_definitions_are_content_and_stay_off_by_default(
    openai_server: OpenAIServer, handler: OpenTelemetryCallbackHandler, exporter: InMemorySpanExporter
) -> None:
    chat_openai(openai_server).bind_tools([get_weather]).invoke("weather?", {"callbacks": [handler]})
    assert "gen_ai.tool.definitions" not in attributes(only_span(exporter))


# --- 12. media and Responses-API blocks -------------------------------------------------------------------


def test_media_blocks_become_blob_file_and_uri_parts(
    openai_server: OpenAIServer, capturing: OpenTelemetryCallbackHandler, exporter: InMemorySpanExporter
) -> None:
    message = HumanMessage(
        content=[
            {"type": "text", "text": "what is in these?"},
            {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}},
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
            {"type": "input_audio", "input_audio": {"data": "UklGRg==", "format": "wav"}},
            {"type": "file", "file": {"file_id": "file-abc123"}},
            {"type": "image", "base64": "R0lGODlh", "mime_type": "image/gif"},
        ]
    )
    chat_openai(openai_server).invoke([message], {"callbacks": [capturing]})

    ((sent_user_message,),) = [openai_server.requests[0].body["messages"]]
    assert sent_user_message["content"][1]["image_url"]["url"] == "https://example.com/cat.png"
    (user,) = json_attribute(only_span(exporter), "gen_ai.input.messages")
    assert user["parts"] == [
        {"type": "text", "content": "what is in these?"},
        {"type": "uri", "modality": "image", "uri": "https://example.com/cat.png"},
        {"type": "blob", "modality": "image", "content": "iVBORw0KGgo=", "mime_type": "image/png"},
        {"type": "blob", "modality": "audio", "content": "UklGRg==", "mime_type": "audio/wav"},
        {"type": "file", "modality": "document", "file_id": "file-abc123"},
        {"type": "blob", "modality": "image", "content": "R0lGODlh", "mime_type": "image/gif"},
    ]


def test_responses_api_blocks_are_text_and_media_parts(
    openai_server: OpenAIServer, capturing: OpenTelemetryCallbackHandler, exporter: InMemorySpanExporter
) -> None:
    message = HumanMessage(
        content=[
            {"type": "input_text", "text": "describe"},
            {"type": "input_image", "image_url": "https://example.com/dog.jpg", "detail": "auto"},
            {"type": "input_image", "file_id": "file-img1"},
            {"type": "input_file", "file_data": "data:application/pdf;base64,JVBERi0=", "filename": "a.pdf"},
        ]
    )
    chat_openai(openai_server).invoke([message], {"callbacks": [capturing]})

    (user,) = json_attribute(only_span(exporter), "gen_ai.input.messages")
    assert user["parts"] == [
        {"type": "text", "content": "describe"},
        {"type": "uri", "modality": "image", "uri": "https://example.com/dog.jpg"},
        {"type": "file", "modality": "image", "file_id": "file-img1"},
        {"type": "blob", "modality": "document", "content": "JVBERi0=", "mime_type": "application/pdf"},
    ]


def test_anthropic_image_sources_are_parts(
    anthropic_server: AnthropicServer, capturing: OpenTelemetryCallbackHandler, exporter: InMemorySpanExporter
) -> None:
    message = HumanMessage(
        content=[
            {"type": "image", "source": {"type": "base64", "media_type": "image/jpeg", "data": "/9j/4AAQ"}},
            {"type": "image", "source": {"type": "url", "url": "https://example.com/a.jpg"}},
            {"type": "document", "source": {"type": "file", "file_id": "file_011"}},
        ]
    )
    anthropic(model="claude-test", base_url=anthropic_server.base_url, api_key="sk-ant-test").invoke(
        [message], {"callbacks": [capturing]}
    )

    assert anthropic_server.requests[0]["messages"][0]["content"][0]["source"]["data"] == "/9j/4AAQ"
    (user,) = json_attribute(only_span(exporter), "gen_ai.input.messages")
    assert user["parts"] == [
        {"type": "blob", "modality": "image", "content": "/9j/4AAQ", "mime_type": "image/jpeg"},
        {"type": "uri", "modality": "image", "uri": "https://example.com/a.jpg"},
        {"type": "file", "modality": "document", "file_id": "file_011"},
    ]


@pytest.mark.parametrize(
    ("block", "part"),
    [
        (  # LangChain's standard file block by URL (providers other than Chat Completions take it)
            {"type": "file", "url": "https://example.com/report.pdf", "mime_type": "application/pdf"},
            {
                "type": "uri",
                "modality": "document",
                "uri": "https://example.com/report.pdf",
                "mime_type": "application/pdf",
            },
        ),
        (  # LangChain 0.3's data blocks
            {"type": "image", "source_type": "base64", "data": "AAAA", "mime_type": "image/webp"},
            {"type": "blob", "modality": "image", "content": "AAAA", "mime_type": "image/webp"},
        ),
        (
            {"type": "audio", "source_type": "id", "id": "file-9"},
            {"type": "file", "modality": "audio", "file_id": "file-9"},
        ),
        (  # Google's media block
            {"type": "media", "file_uri": "gs://bucket/clip.mp4", "mime_type": "video/mp4"},
            {"type": "uri", "modality": "video", "uri": "gs://bucket/clip.mp4", "mime_type": "video/mp4"},
        ),
        (  # not media: kept whole, as the conventions' generic part
            {"type": "citation", "url": "https://example.com"},
            {
                "type": "generic",
                "generic_type": "citation",
                "content": {"type": "citation", "url": "https://example.com"},
            },
        ),
    ],
)
def test_every_dialects_media_block(block: dict[str, Any], part: dict[str, Any]) -> None:
    from lc_otel._attributes.messages import message_parts
    from lc_otel._attributes.redaction import Redactor

    assert message_parts(HumanMessage(content=[block]), Redactor()) == [part]

"""Content capture: off by default, on by option or environment, the conventions' JSON shape, cut, redacted."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import RunnableLambda
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from pydantic import SecretStr

from lc_otel import OpenTelemetryCallbackHandler
from lc_otel._attributes.content import REDACTED, Redactor, dump
from lc_otel._settings import Settings
from lc_otel.testing import FakeChatModel, find_span, reply

CONTENT_KEYS = {
    "gen_ai.input.messages",
    "gen_ai.output.messages",
    "gen_ai.system_instructions",
    "langchain.input",
    "langchain.output",
}


def run_chain(
    handler: OpenTelemetryCallbackHandler, exporter: InMemorySpanExporter, question: str = "What is 2+2?"
) -> list[ReadableSpan]:
    prompt = ChatPromptTemplate.from_messages([("system", "You are terse."), ("human", "{q}")])
    (prompt | FakeChatModel(responses=[reply("4")])).invoke({"q": question}, {"callbacks": [handler]})
    return list(exporter.get_finished_spans())


def captured(spans: list[ReadableSpan]) -> set[str]:
    return {key for span in spans for key in (span.attributes or {}) if key in CONTENT_KEYS}


def test_nothing_is_captured_by_default(
    provider: TracerProvider, exporter: InMemorySpanExporter, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("LC_OTEL_CAPTURE_CONTENT", "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"):
        monkeypatch.delenv(name, raising=False)
    spans = run_chain(OpenTelemetryCallbackHandler(provider), exporter)
    assert len(spans) == 3
    assert captured(spans) == set()
    assert "What is 2+2?" not in json.dumps([json.loads(s.to_json()) for s in spans])


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("LC_OTEL_CAPTURE_CONTENT", "true"),
        ("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "SPAN_ONLY"),
        ("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "true"),
    ],
)
def test_environment_turns_capture_on(
    provider: TracerProvider,
    exporter: InMemorySpanExporter,
    monkeypatch: pytest.MonkeyPatch,
    variable: str,
    value: str,
) -> None:
    monkeypatch.setenv(variable, value)
    assert captured(run_chain(OpenTelemetryCallbackHandler(provider), exporter)) == CONTENT_KEYS


def test_option_beats_the_environment(
    provider: TracerProvider, exporter: InMemorySpanExporter, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LC_OTEL_CAPTURE_CONTENT", "true")
    assert captured(run_chain(OpenTelemetryCallbackHandler(provider, capture_content=False), exporter)) == set()


def test_model_messages_in_the_conventions_shape(provider: TracerProvider, exporter: InMemorySpanExporter) -> None:
    handler = OpenTelemetryCallbackHandler(provider, settings=Settings(capture_content=True))
    history = [
        SystemMessage("Use tools."),
        HumanMessage("add 1 and 2", name="alice"),
        AIMessage("", tool_calls=[{"name": "add", "args": {"a": 1, "b": 2}, "id": "call-1", "type": "tool_call"}]),
        ToolMessage("3", tool_call_id="call-1"),
        HumanMessage(
            content=[{"type": "text", "text": "and this?"}, {"type": "image", "url": "https://example.com/x.png"}]
        ),
    ]
    FakeChatModel(responses=[reply("It is 3.")]).invoke(history, {"callbacks": [handler]})

    attributes = dict(exporter.get_finished_spans()[0].attributes or {})
    assert json.loads(str(attributes["gen_ai.system_instructions"])) == [{"type": "text", "content": "Use tools."}]
    assert json.loads(str(attributes["gen_ai.input.messages"])) == [
        {"role": "user", "parts": [{"type": "text", "content": "add 1 and 2"}], "name": "alice"},
        {
            "role": "assistant",
            "parts": [{"type": "tool_call", "id": "call-1", "name": "add", "arguments": {"a": 1, "b": 2}}],
        },
        {"role": "tool", "parts": [{"type": "tool_call_response", "id": "call-1", "response": "3"}]},
        {
            "role": "user",
            "parts": [
                {"type": "text", "content": "and this?"},
                # LangChain hands chat models image blocks in its OpenAI-compatible form: a URI part.
                {"type": "uri", "modality": "image", "uri": "https://example.com/x.png"},
            ],
        },
    ]
    assert json.loads(str(attributes["gen_ai.output.messages"])) == [
        {"role": "assistant", "parts": [{"type": "text", "content": "It is 3."}], "finish_reason": "stop"}
    ]


def test_streamed_output_is_an_assistant_message(provider: TracerProvider, exporter: InMemorySpanExporter) -> None:
    handler = OpenTelemetryCallbackHandler(provider, settings=Settings(capture_content=True))
    list(FakeChatModel(responses=[reply("Hello world")]).stream("hi", {"callbacks": [handler]}))

    output = json.loads(str((exporter.get_finished_spans()[0].attributes or {})["gen_ai.output.messages"]))
    assert output == [
        {"role": "assistant", "parts": [{"type": "text", "content": "Hello world"}], "finish_reason": "stop"}
    ]


def test_every_captured_value_is_cut(provider: TracerProvider, exporter: InMemorySpanExporter) -> None:
    handler = OpenTelemetryCallbackHandler(provider, settings=Settings(capture_content=True, max_content_length=64))
    enormous = "word " * 200_000  # a million characters
    spans = run_chain(handler, exporter, enormous)

    values = [v for s in spans for k, v in (s.attributes or {}).items() if k in CONTENT_KEYS]
    assert len(values) == 7  # prompt in/out, model in/out/system, sequence in/out
    assert all(isinstance(v, str) and len(v) <= 64 for v in values)
    assert any(str(v).endswith("…") for v in values)


def test_non_json_values_are_rendered_not_raised(provider: TracerProvider, exporter: InMemorySpanExporter) -> None:
    handler = OpenTelemetryCallbackHandler(provider, settings=Settings(capture_content=True))

    class Opaque:
        def __str__(self) -> str:
            return "<opaque>"

    class Broken:
        def __str__(self) -> str:
            raise RuntimeError("no str")

    cyclic: list[Any] = []
    cyclic.append(cyclic)
    weird = {"bytes": b"\x00\x01", "set": {1}, "obj": Opaque(), "broken": Broken(), "cycle": cyclic, 3: "int key"}
    RunnableLambda(lambda x: x).invoke(weird, {"callbacks": [handler]})

    (span,) = exporter.get_finished_spans()
    text = str((span.attributes or {})["langchain.input"])
    decoded = json.loads(text)
    assert decoded["bytes"] == "<2 bytes>"
    assert decoded["set"] == [1]
    assert decoded["obj"] == "<opaque>"
    assert decoded["broken"] == "<unprintable Broken>"
    assert decoded["3"] == "int key"
    assert "[...]" in text


# --- redaction ------------------------------------------------------------------------------------------

SECRETS = [
    "sk-proj-abcdefghijklmnop1234",
    "Bearer eyJhbGciOiJIUzI1NiJ9.payload.sig",
    "AKIAABCDEFGHIJKLMNOP",
    "AIzaSyA1234567890abcdefghijklmnopqrstu",
    "ghp_abcdefghijklmnopqrstuvwxyz0123456789",
]


@pytest.mark.parametrize("secret", SECRETS)
def test_secret_looking_text_is_redacted(secret: str) -> None:
    text = dump({"note": f"call it with {secret} please"}, Redactor(), 1000)
    assert secret not in text
    assert REDACTED in text


def test_secret_values_and_keys_are_redacted() -> None:
    value = {
        "api_key": "plain-looking",
        "openai_api_key": {"lc": 1, "type": "secret", "id": ["OPENAI_API_KEY"]},
        "headers": {"Authorization": "token abc", "X-Api-Key": "k", "accept": "json"},
        "password": "hunter2",
        "secret_str": SecretStr("hidden"),
        "fine": "kept",
    }
    decoded = json.loads(dump(value, Redactor(), 10_000))
    assert decoded == {
        "api_key": REDACTED,
        "openai_api_key": REDACTED,
        "headers": {"Authorization": REDACTED, "X-Api-Key": REDACTED, "accept": "json"},
        "password": REDACTED,
        "secret_str": REDACTED,
        "fine": "kept",
    }


def test_configured_patterns_are_redacted(provider: TracerProvider, exporter: InMemorySpanExporter) -> None:
    settings = Settings(capture_content=True, redact_patterns=(re.compile(r"\b\d{3}-\d{2}-\d{4}\b"),))
    handler = OpenTelemetryCallbackHandler(provider, settings=settings)
    spans = run_chain(handler, exporter, "my SSN is 123-45-6789")

    dumped = json.dumps([json.loads(s.to_json()) for s in spans])
    assert "123-45-6789" not in dumped
    assert "my SSN is" in dumped


def test_a_secret_straddling_the_cut_is_not_half_exported() -> None:
    key = "sk-" + "A" * 40
    text = dump("x" * 30 + " " + key, Redactor(max_length=40), 40)
    assert "AAAA" not in text


def test_secrets_in_model_messages_are_redacted(provider: TracerProvider, exporter: InMemorySpanExporter) -> None:
    handler = OpenTelemetryCallbackHandler(provider, settings=Settings(capture_content=True))
    key = "sk-live-0123456789abcdefghij"
    FakeChatModel(responses=[reply(f"your key is {key}")]).invoke(f"remember {key}", {"callbacks": [handler]})

    dumped = json.dumps([json.loads(s.to_json()) for s in exporter.get_finished_spans()])
    assert key not in dumped
    assert "remember" in dumped


def test_chain_input_and_output_are_captured(provider: TracerProvider, exporter: InMemorySpanExporter) -> None:
    handler = OpenTelemetryCallbackHandler(provider, settings=Settings(capture_content=True))
    spans = run_chain(handler, exporter)
    sequence = find_span(spans, "RunnableSequence")
    assert json.loads(str((sequence.attributes or {})["langchain.input"])) == {"q": "What is 2+2?"}
    assert "4" in str((sequence.attributes or {})["langchain.output"])

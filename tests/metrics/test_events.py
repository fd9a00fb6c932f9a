"""EVENT_ONLY / SPAN_AND_EVENT: the inference details event through the logs API, content on spans or not."""

from __future__ import annotations

import json
from typing import Any

import pytest
from langchain_core.messages import HumanMessage, SystemMessage
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs import export as logs_export
from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from lc_otel import OpenTelemetryCallbackHandler
from lc_otel._settings import Settings
from lc_otel.testing import FakeChatModel, reply

# Renamed in SDK 1.39; the older name for older SDKs.
InMemoryLogs: Any = getattr(logs_export, "InMemoryLogRecordExporter", None) or logs_export.InMemoryLogExporter
CONTENT_KEYS = {"gen_ai.input.messages", "gen_ai.output.messages", "gen_ai.system_instructions", "langchain.input"}


def run(
    mode: str, monkeypatch: pytest.MonkeyPatch, provider: TracerProvider
) -> tuple[Any, OpenTelemetryCallbackHandler]:
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", mode)
    logs = InMemoryLogs()
    logger_provider = LoggerProvider()
    logger_provider.add_log_record_processor(SimpleLogRecordProcessor(logs))
    handler = OpenTelemetryCallbackHandler(provider, settings=Settings.from_env(), logger_provider=logger_provider)
    model = FakeChatModel(responses=[reply("The key is sk-abcdefghijklmnopqrstuv", input_tokens=9, output_tokens=4)])
    model.invoke([SystemMessage("be terse"), HumanMessage("what is the key?")], {"callbacks": [handler]})
    return logs, handler


def test_event_only_emits_the_details_event_and_puts_no_content_on_spans(
    monkeypatch: pytest.MonkeyPatch, provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    logs, _ = run("EVENT_ONLY", monkeypatch, provider)
    (span,) = exporter.get_finished_spans()
    assert not CONTENT_KEYS & set(span.attributes or {})
    (finished,) = logs.get_finished_logs()
    record = finished.log_record
    assert record.event_name == "gen_ai.client.inference.operation.details"
    attributes: dict[str, Any] = dict(record.attributes or {})
    assert attributes["gen_ai.operation.name"] == "chat"
    assert attributes["gen_ai.request.model"] == "fake-model-1"
    assert attributes["gen_ai.response.model"] == "fake-model-1"
    assert attributes["gen_ai.usage.input_tokens"] == 9
    assert attributes["gen_ai.usage.output_tokens"] == 4
    assert list(attributes["gen_ai.system_instructions"]) == [{"type": "text", "content": "be terse"}]
    (message,) = attributes["gen_ai.input.messages"]
    assert message["role"] == "user"
    assert message["parts"][0]["content"] == "what is the key?"
    (output,) = attributes["gen_ai.output.messages"]
    # The same redaction as span content: the key never leaves the process.
    assert output["parts"][0]["content"] == "The key is [REDACTED]"
    assert not any(key.startswith("langchain.") for key in attributes)
    # The event belongs to the model call's span.
    assert record.trace_id == span.context.trace_id
    assert record.span_id == span.context.span_id


def test_span_and_event_puts_content_on_both(
    monkeypatch: pytest.MonkeyPatch, provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    logs, _ = run("SPAN_AND_EVENT", monkeypatch, provider)
    (span,) = exporter.get_finished_spans()
    assert "what is the key?" in str(span.attributes["gen_ai.input.messages"])
    (finished,) = logs.get_finished_logs()
    assert finished.log_record.attributes["gen_ai.input.messages"][0]["parts"][0]["content"] == "what is the key?"


@pytest.mark.parametrize("mode", ["NO_CONTENT", "SPAN_ONLY"])
def test_other_modes_emit_no_event(
    mode: str, monkeypatch: pytest.MonkeyPatch, provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    logs, handler = run(mode, monkeypatch, provider)
    assert logs.get_finished_logs() == ()
    assert handler._telemetry is None or handler._telemetry.events is None  # no logger is even asked for


def test_event_content_is_cut_to_the_content_limit(monkeypatch: pytest.MonkeyPatch, provider: TracerProvider) -> None:
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "EVENT_ONLY")
    logs = InMemoryLogs()
    logger_provider = LoggerProvider()
    logger_provider.add_log_record_processor(SimpleLogRecordProcessor(logs))
    handler = OpenTelemetryCallbackHandler(
        provider, settings=Settings(max_content_length=200), logger_provider=logger_provider
    )
    FakeChatModel(responses=[reply("x" * 1000)]).invoke("y" * 1000, {"callbacks": [handler]})
    (finished,) = logs.get_finished_logs()
    attributes: dict[str, Any] = dict(finished.log_record.attributes or {})
    for key in ("gen_ai.input.messages", "gen_ai.output.messages"):
        assert len(json.dumps(list(attributes[key]), separators=(",", ":"), ensure_ascii=False)) <= 200

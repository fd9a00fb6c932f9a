"""Fixtures for the GenAI-consumer tests: a handler that captures content, and the local provider servers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace import TracerProvider

from lc_otel import OpenTelemetryCallbackHandler
from lc_otel._settings import Settings
from tests.genai.anthropic_server import AnthropicServer
from tests.support.openai_server import OpenAIServer


@pytest.fixture(name="capturing")
def _capturing(provider: TracerProvider) -> OpenTelemetryCallbackHandler:
    """A handler with content capture on (prompts, completions, tool arguments, documents)."""
    return OpenTelemetryCallbackHandler(provider, settings=Settings(capture_content=True))


@pytest.fixture(name="openai_server")
def _openai_server() -> Iterator[OpenAIServer]:
    with OpenAIServer() as server:
        yield server


@pytest.fixture(name="anthropic_server")
def _anthropic_server() -> Iterator[AnthropicServer]:
    with AnthropicServer() as server:
        yield server

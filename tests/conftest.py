"""Fixtures shared by every test: an in-memory exporter behind a local provider, a handler on it, a clean CLI env."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from lc_otel import OpenTelemetryCallbackHandler
from lc_otel._internal_errors import reset_reported_errors
from lc_otel._settings import Settings


@pytest.fixture(name="exporter")
def _exporter() -> InMemorySpanExporter:
    """Collect finished spans in memory."""
    return InMemorySpanExporter()


@pytest.fixture(name="provider")
def _provider(exporter: InMemorySpanExporter) -> Iterator[TracerProvider]:
    """A local provider (never the global one) exporting synchronously to ``exporter``."""
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield provider
    provider.shutdown()


@pytest.fixture(name="handler")
def _handler(provider: TracerProvider) -> OpenTelemetryCallbackHandler:
    """A handler with default settings (content capture off), whatever the environment says."""
    return OpenTelemetryCallbackHandler(provider, settings=Settings())


@pytest.fixture(name="clean_env")
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No endpoint, protocol, service name or Jaeger UI from the environment; spans go to the returned file."""
    for name in (
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        "OTEL_EXPORTER_OTLP_PROTOCOL",
        "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
        "OTEL_SERVICE_NAME",
        "LC_OTEL_ENDPOINT",
        "LC_OTEL_PROTOCOL",
        "LC_OTEL_JAEGER_UI",
    ):
        monkeypatch.delenv(name, raising=False)
    path = tmp_path / "spans.jsonl"
    monkeypatch.setenv("LC_OTEL_EXPORT_FILE", str(path))
    return path


@pytest.fixture(autouse=True)
def _no_internal_errors(request: pytest.FixtureRequest, caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Fail any test in which lc_otel reported an internal error it did not expect.

    A test that provokes internal errors on purpose marks itself with ``@pytest.mark.internal_errors``.
    """
    reset_reported_errors()
    caplog.set_level(logging.WARNING, logger="lc_otel")
    yield
    errors = [r for r in caplog.records if r.name == "lc_otel" and "internal error" in r.getMessage()]
    if errors and request.node.get_closest_marker("internal_errors") is None:
        pytest.fail(f"lc_otel reported internal errors: {[r.getMessage() for r in errors]}")

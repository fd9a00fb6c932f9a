"""A handler wired to an in-memory metric reader (and the span exporter of the shared fixtures)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider

from lc_otel import OpenTelemetryCallbackHandler
from lc_otel._settings import Settings


@pytest.fixture(name="reader")
def _reader() -> InMemoryMetricReader:
    return InMemoryMetricReader()


@pytest.fixture(name="meter_provider")
def _meter_provider(reader: InMemoryMetricReader) -> Iterator[MeterProvider]:
    """A local meter provider (never the global one)."""
    provider = MeterProvider(metric_readers=[reader])
    yield provider
    provider.shutdown()


@pytest.fixture(name="metered")
def _metered(provider: TracerProvider, meter_provider: MeterProvider) -> OpenTelemetryCallbackHandler:
    """A handler with default settings recording spans and metrics."""
    return OpenTelemetryCallbackHandler(provider, settings=Settings(), meter_provider=meter_provider)

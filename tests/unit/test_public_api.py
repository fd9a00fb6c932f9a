"""The public surface is exactly what the README documents."""

from __future__ import annotations

import inspect

import lc_otel


def test_public_names_are_pinned():
    """Adding or removing a public name is a deliberate, reviewed change."""
    assert lc_otel.__all__ == [
        "LangChainInstrumentor",
        "OpenTelemetryCallbackHandler",
        "__version__",
        "configure",
        "instrument",
        "suppress_tracing",
        "token_usage",
        "uninstrument",
    ]
    for name in lc_otel.__all__:
        assert getattr(lc_otel, name) is not None


def test_handler_signature():
    """The handler takes the provider positionally and every option by keyword."""
    parameters = inspect.signature(lc_otel.OpenTelemetryCallbackHandler).parameters
    assert next(iter(parameters)) == "tracer_provider"
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in list(parameters.values())[1:])
    assert {"capture_content", "max_content_length", "max_open_runs", "max_run_age"} <= set(parameters)


def test_configure_signature():
    """configure() takes the SPEC's options by keyword."""
    parameters = inspect.signature(lc_otel.configure).parameters
    assert {"service_name", "endpoint", "protocol", "headers"} <= set(parameters)


def test_package_is_typed():
    """py.typed ships, so type checkers use lc_otel's annotations."""
    from importlib import resources

    assert resources.files("lc_otel").joinpath("py.typed").is_file()


def test_entry_points():
    """The console script and the opentelemetry-instrument entry point are registered."""
    from importlib.metadata import entry_points

    (instrumentor,) = [e for e in entry_points(group="opentelemetry_instrumentor") if e.name == "langchain"]
    assert instrumentor.load() is lc_otel.LangChainInstrumentor
    (script,) = [e for e in entry_points(group="console_scripts") if e.name == "lc-otel"]
    assert script.value == "lc_otel.cli:main"

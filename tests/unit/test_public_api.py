"""The public surface is exactly what the README documents."""

from __future__ import annotations

import inspect

import lc_otel


def test_public_names_are_pinned():
    """Adding or removing a public name is a deliberate, reviewed change."""
    assert lc_otel.__all__ == [
        "LangChainInstrumentor",
        "ModelUsage",
        "OpenTelemetryCallbackHandler",
        "Settings",
        "TokenUsage",
        "__version__",
        "configure",
        "instrument",
        "suppress_tracing",
        "token_usage",
        "uninstrument",
    ]
    for name in lc_otel.__all__:
        assert getattr(lc_otel, name) is not None


def test_the_public_types_are_the_ones_the_api_takes_and_yields():
    """Settings is the handler's ``settings``; token_usage() yields a TokenUsage, per model a ModelUsage."""
    from lc_otel.testing import FakeChatModel, reply

    parameters = inspect.signature(lc_otel.OpenTelemetryCallbackHandler).parameters
    assert parameters["settings"].annotation == "Settings | None"
    assert lc_otel.Settings().capture_content is False
    with lc_otel.token_usage() as usage:
        FakeChatModel(responses=[reply(input_tokens=5, output_tokens=2)]).invoke("hi")
    assert isinstance(usage, lc_otel.TokenUsage)
    (per_model,) = usage.by_model.values()
    assert type(per_model) is lc_otel.ModelUsage
    assert (per_model.calls, per_model.input_tokens, per_model.output_tokens) == (1, 5, 2)


def test_testing_names_are_pinned():
    """lc_otel.testing is public too: its names are a reviewed change as well."""
    import lc_otel.testing

    assert lc_otel.testing.__all__ == [
        "CapturedSpans",
        "FakeChatModel",
        "Shape",
        "SpanNode",
        "assert_span_trees",
        "capture_spans",
        "find_span",
        "reply",
        "reset",
        "span_trees",
        "usage",
    ]
    for name in lc_otel.testing.__all__:
        assert getattr(lc_otel.testing, name) is not None


def test_handler_signature():
    """The handler takes the provider positionally and every option by keyword."""
    parameters = inspect.signature(lc_otel.OpenTelemetryCallbackHandler).parameters
    assert next(iter(parameters)) == "tracer_provider"
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in list(parameters.values())[1:])
    assert {"capture_content", "max_content_length", "max_open_runs", "max_run_age"} <= set(parameters)


def test_configure_signature():
    """configure() takes the documented options (service name, endpoint, protocol, headers) by keyword."""
    parameters = inspect.signature(lc_otel.configure).parameters
    assert {"service_name", "endpoint", "protocol", "headers"} <= set(parameters)


def test_package_is_typed():
    """py.typed ships, so type checkers use lc_otel's annotations."""
    from importlib import resources

    assert resources.files("lc_otel").joinpath("py.typed").is_file()


def test_entry_points():
    """The console script, the opentelemetry-instrument entry point and the pytest plugin are registered."""
    from importlib.metadata import entry_points

    (instrumentor,) = [e for e in entry_points(group="opentelemetry_instrumentor") if e.name == "langchain"]
    assert instrumentor.load() is lc_otel.LangChainInstrumentor
    (script,) = [e for e in entry_points(group="console_scripts") if e.name == "lc-otel"]
    assert script.value == "lc_otel.cli:main"
    (plugin,) = [e for e in entry_points(group="pytest11") if e.name == "lc_otel"]
    assert plugin.value == "lc_otel.testing.pytest_plugin"

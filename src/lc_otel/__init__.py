"""lc_otel: OpenTelemetry tracing for LangChain.

Every LangChain run (chain, chat model, LLM, tool, retriever, agent) becomes an OpenTelemetry span, nested by
``run_id`` / ``parent_run_id`` under the application's own span, with GenAI semantic-convention attributes,
tags and metadata that Jaeger's tag search finds, and token usage.
"""

from typing import TYPE_CHECKING, Any

from lc_otel._export.sdk_env import check_sdk_variables

# Before anything imports the OpenTelemetry SDK: it parses the span-limit variables at import and raises on a
# bad value, which would make `import lc_otel` raise in the host application.
check_sdk_variables()

from lc_otel._export.configure import configure  # noqa: E402
from lc_otel._instrument import instrument, suppress_tracing, uninstrument  # noqa: E402
from lc_otel._settings import Settings  # noqa: E402
from lc_otel._token_usage import ModelUsage, TokenUsage, token_usage  # noqa: E402
from lc_otel._version import __version__  # noqa: E402
from lc_otel.handler import OpenTelemetryCallbackHandler  # noqa: E402

if TYPE_CHECKING:
    from lc_otel.instrumentor import LangChainInstrumentor


def __getattr__(name: str) -> Any:
    # Imported on first use: opentelemetry-instrumentation is only needed by opentelemetry-instrument users
    # (whose entry point imports lc_otel.instrumentor itself), and costs everyone else thousands of objects.
    if name == "LangChainInstrumentor":
        from lc_otel.instrumentor import LangChainInstrumentor

        return LangChainInstrumentor
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
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

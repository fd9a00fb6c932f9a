"""lc_otel: OpenTelemetry tracing for LangChain.

Every LangChain run (chain, chat model, LLM, tool, retriever, agent) becomes an OpenTelemetry span, nested by
``run_id`` / ``parent_run_id`` under the application's own span, with GenAI semantic-convention attributes,
tags and metadata that Jaeger's tag search finds, and token usage.
"""

from lc_otel._version import __version__
from lc_otel.handler import OpenTelemetryCallbackHandler

__all__ = [
    "OpenTelemetryCallbackHandler",
    "__version__",
]

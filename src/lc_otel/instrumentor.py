"""``LangChainInstrumentor``: lc_otel as an OpenTelemetry instrumentor.

Registered under the ``opentelemetry_instrumentor`` entry point, so ``opentelemetry-instrument python app.py``
traces every LangChain run of an unchanged application. When no distro or configurator installed a tracer
provider by then, it calls :func:`lc_otel.configure`, which reads the same standard ``OTEL_*`` variables.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from opentelemetry import trace

# The module is marked "type: ignore" as a whole, so mypy sees no names in it.
from opentelemetry.instrumentation.instrumentor import BaseInstrumentor  # type: ignore[attr-defined]

from lc_otel._export.configure import configure
from lc_otel._instrument import instrument, uninstrument


class LangChainInstrumentor(BaseInstrumentor):  # type: ignore[misc]  # BaseInstrumentor is untyped
    """Trace every LangChain run in the process (see :func:`lc_otel.instrument`).

    ``LangChainInstrumentor().instrument(tracer_provider=..., capture_content=...)`` takes the handler's
    options; ``uninstrument()`` switches tracing off again.
    """

    def instrumentation_dependencies(self) -> Collection[str]:
        """The LangChain versions lc_otel supports."""
        return ("langchain-core >= 0.3.0",)

    def _instrument(self, **kwargs: Any) -> None:
        tracer_provider = kwargs.pop("tracer_provider", None)
        if tracer_provider is None and isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider):
            configure()  # nothing set one up: export as the OTEL_* variables say
        instrument(tracer_provider, **kwargs)

    def _uninstrument(self, **kwargs: Any) -> None:
        uninstrument()

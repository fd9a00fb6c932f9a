"""Reading, filtering and drawing finished spans: the engine behind ``lc-otel traces`` and ``lc-otel demo``.

Every source (an OTLP-JSON-lines file, Jaeger's v3 or v1 query API, the SDK's in-memory spans) is turned
into the same :class:`Span` records, so filtering and the tree renderer never care where spans came from.
"""

from lc_otel._cli.traces.model import AttrValue, Span

__all__ = ["AttrValue", "Span"]

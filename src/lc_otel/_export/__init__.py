"""The export wing: where spans, metrics and events go, set up by :func:`lc_otel.configure`.

``configure`` (spans: the TracerProvider) and ``metrics_setup`` (the MeterProvider and, for GenAI events, the
LoggerProvider) share ``endpoints`` (the variables and URL rules); ``pipeline`` is the bounded batch processor
and the guard around a backend that may be down, ``metrics_guard`` the same quiet for metrics; ``file`` and
``metrics_file`` are the embedded default, OTLP-JSON-lines files; ``sdk_env`` checks the SDK's own variables.
"""

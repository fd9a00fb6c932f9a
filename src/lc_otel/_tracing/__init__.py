"""Span bookkeeping: one OpenTelemetry span per LangChain run, and the callbacks that make them."""

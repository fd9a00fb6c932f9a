"""The command line's parts: the demo and the span queries (`lc-otel traces`)."""

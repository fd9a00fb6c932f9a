"""GenAI metrics and events: what a run costs and how long it took, on the metrics and logs pipelines.

``instruments`` names the conventions' histograms, ``recorder`` records them from the run lifecycle,
``events`` emits the inference details event, ``file_export`` writes both to OTLP-JSON-lines files.
"""

"""GenAI metrics and events: what a run costs and how long it took, on the metrics and logs pipelines.

``instruments`` names the conventions' histograms, ``recorder`` records them from the run lifecycle (what it
keeps of a run is ``run_telemetry``), ``events`` emits the inference details event, ``options`` reads what to
record from the environment. Where they go (the providers, exporters and files) is :mod:`lc_otel._export`'s.
"""

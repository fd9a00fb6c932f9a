"""lc-otel's overhead benchmark: ``python benchmarks/run.py`` (``make bench``); see ``benchmarks/README.md``."""

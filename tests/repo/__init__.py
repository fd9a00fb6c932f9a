"""Checks of the repository rather than of the library: the README's examples, deploy files, benchmarks, layout."""

"""A low-noise cross-check of the floor ratio: ``python benchmarks/paired.py [--rounds N]``.

``run.py`` measures every configuration in its own process, as the targets ask; on a shared machine the
process-to-process spread (a few percent of the whole invocation) is as large as the differences between the
tracers' overheads. Here ``none``, ``raw`` and ``lc-otel`` run in one process, in alternating segments of the
same workload, so they share the memory layout, the warm caches and the machine's state of the moment. The
figures per workload are overhead(lc-otel) / overhead(raw) and what recording the GenAI metrics adds to
lc-otel's overhead (``lc-otel-metrics``; ``lc-otel-metrics-own``: the part that is lc-otel's, the SDK's
``record()`` left out), from each configuration's third-fastest segment; then the cost of
one more streamed token above the empty handler, from the two stream lengths, the same way.
Not a target: a way to see whether a change to the hot path moved lc-otel, below the noise of ``run.py``.
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make ``benchmarks`` importable
    sys.path.insert(0, str(ROOT))

from langchain_core.runnables import RunnableConfig  # noqa: E402

from benchmarks.configs import Setup, setup  # noqa: E402
from benchmarks.workloads import LONG_STREAM_TOKENS, STREAM_TOKENS, WORKLOADS  # noqa: E402
from lc_otel._propagation import install as propagation  # noqa: E402

CONFIGS = ("none", "raw", "lc-otel", "lc-otel-metrics", "lc-otel-metrics-own")
SEGMENT = {"simple": 400, "nested": 100, "stream": 30, "stream-long": 8, "concurrent": 500}
"""Invocations per segment: about a quarter of a second each."""


def _segment(built: Setup, name: str, workload: str) -> float:
    # Context propagation is process-wide: on for lc-otel's segments only, as in lc-otel's own process.
    if name.startswith("lc-otel"):
        propagation.install()
    else:
        propagation.uninstall()
    invocations = SEGMENT[workload]
    gc.collect()  # every segment starts from the same collector state, as in run.py's workers
    start = time.process_time()
    WORKLOADS[workload].run(RunnableConfig(callbacks=list(built.callbacks)), invocations)
    if built.provider is not None:
        built.provider.force_flush()
    return (time.process_time() - start) / invocations * 1e6


def _typical(built: dict[str, Setup], names: tuple[str, ...], workload: str, rounds: int) -> dict[str, float]:
    """Each configuration's third-fastest segment of ``rounds``, the configurations alternating."""
    for name in names:  # warm-up
        _segment(built[name], name, workload)
    times: dict[str, list[float]] = {name: [] for name in names}
    for _ in range(rounds):
        for name in names:
            times[name].append(_segment(built[name], name, workload))
    return {name: sorted(values)[min(2, len(values) - 1)] for name, values in times.items()}


def per_token(rounds: int, built: dict[str, Setup] | None = None) -> float:
    """The cost in us of one more streamed token with lc-otel, above the empty handler, in one process.

    ``((lc-otel - empty) on stream-long - (lc-otel - empty) on stream) / (1000 - 200)``: the call's spans
    cancel out, what is left is each chunk's ``on_llm_new_token`` and its ``next()`` run in the model's
    context. Each term is a difference of two configurations measured side by side, which is what makes a
    fraction of a microsecond per token measurable on a machine whose processes differ by several percent.
    """
    if built is None:
        built = {name: setup(name) for name in ("empty", "lc-otel")}
    above_empty = {}
    try:
        for workload in ("stream", "stream-long"):
            typical = _typical(built, ("empty", "lc-otel"), workload, rounds)
            above_empty[workload] = typical["lc-otel"] - typical["empty"]
    finally:
        propagation.uninstall()
    return (above_empty["stream-long"] - above_empty["stream"]) / (LONG_STREAM_TOKENS - STREAM_TOKENS)


def main() -> None:
    """Print the paired floor ratio of each workload and the paired cost per streamed token."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10, help="segments per configuration and workload")
    args = parser.parse_args()
    built = {name: setup(name) for name in (*CONFIGS, "empty")}
    print("| workload | none us | raw us | lc-otel us | overhead / floor | metrics add | of which lc-otel's own |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for workload in ("simple", "nested", "stream", "concurrent"):
        typical = _typical(built, CONFIGS, workload, args.rounds)
        overhead = typical["lc-otel"] - typical["none"]
        ratio = overhead / (typical["raw"] - typical["none"])
        metrics_share = (typical["lc-otel-metrics"] - typical["lc-otel"]) / overhead
        own_share = (typical["lc-otel-metrics-own"] - typical["lc-otel"]) / overhead
        print(
            f"| {workload} | {typical['none']:.0f} | {typical['raw']:.0f} | {typical['lc-otel']:.0f} | {ratio:.2f} "
            f"| {metrics_share:+.1%} | {own_share:+.1%} |",
            flush=True,
        )
    print(f"\n(lc-otel - empty handler) per additional streamed token: {per_token(args.rounds, built):.2f} us")


if __name__ == "__main__":
    main()

"""Instructions per invocation, counted by Valgrind: ``python benchmarks/instructions.py``.

CPU time on a shared machine moves by several percent between processes; the number of instructions a
process executes hardly does. Each configuration runs its workload in a process under ``valgrind
--tool=cachegrind``, once with no measured invocations and once with ``N``, the garbage collector off while
they run (``worker work``); the difference over ``N`` is the instructions one invocation costs. Repeated runs
agree to within about 0.3 % (0.5 % on streams): what varies is how threads interleave (the batch span
processor's worker, the nested workload's pool). Not the issue's figure (that is CPU time,
``run.py``), and it weighs every instruction alike, where cache misses make some dearer: the work each tracer
does, without the noise, to see where lc-otel stands and whether a change to the hot path moved it. Needs
``valgrind`` (Debian: ``apt install valgrind``); about 8 minutes.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make ``benchmarks`` importable
    sys.path.insert(0, str(ROOT))

from benchmarks.workloads import LONG_STREAM_TOKENS, STREAM_TOKENS  # noqa: E402

INVOCATIONS = {"simple": 200, "nested": 60, "stream": 20, "stream-long": 5, "concurrent": 500}
"""Measured invocations per workload under Valgrind (about 50 times slower than native)."""
CONFIGS = ("none", "empty", "raw", "lc-otel")
_REFS = re.compile(r"I\s+refs:\s+([\d,]+)")


def instructions(config: str, workload: str, iterations: int) -> int:
    """Instructions executed by a ``worker work`` process, from start to exit."""
    env = {**os.environ, "PYTHONHASHSEED": "0", "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [
            "valgrind",
            "--tool=cachegrind",
            "--cache-sim=no",
            "--cachegrind-out-file=/dev/null",
            sys.executable,
            "-m",
            "benchmarks.worker",
            "work",
            f"--config={config}",
            f"--workload={workload}",
            f"--iterations={iterations}",
            "--warmup=20",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    found = _REFS.search(done.stderr)
    if done.returncode != 0 or found is None:
        raise RuntimeError(f"valgrind {config} {workload} failed:\n{done.stderr[-2000:]}")
    return int(found.group(1).replace(",", ""))


def per_invocation(config: str, workload: str) -> float:
    """Instructions of one invocation: (N invocations - none) / N, the process's own start-up cancelled."""
    iterations = INVOCATIONS[workload]
    return (instructions(config, workload, iterations) - instructions(config, workload, 0)) / iterations


def main() -> int:
    """Print the table: instructions per invocation and lc-otel's overhead over the floor's."""
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()
    if shutil.which("valgrind") is None:
        print("valgrind is not installed (Debian: apt install valgrind)", file=sys.stderr)
        return 1
    jobs = [(config, workload) for workload in INVOCATIONS for config in CONFIGS]
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:  # counts do not depend on the load
        counts = dict(zip(jobs, pool.map(lambda job: per_invocation(*job), jobs), strict=True))
    print("| workload | none | empty | raw (floor) | lc-otel | lc-otel overhead / floor overhead |")
    print("|---|---:|---:|---:|---:|---:|")
    for workload in INVOCATIONS:
        row = {config: counts[(config, workload)] for config in CONFIGS}
        ratio = (row["lc-otel"] - row["none"]) / (row["raw"] - row["none"])
        cells = " | ".join(f"{row[config] / 1e3:,.0f}k" for config in CONFIGS)
        print(f"| {workload} | {cells} | {ratio:.3f} |")
    above_empty = {w: counts[("lc-otel", w)] - counts[("empty", w)] for w in ("stream", "stream-long")}
    per_token = (above_empty["stream-long"] - above_empty["stream"]) / (LONG_STREAM_TOKENS - STREAM_TOKENS)
    print(f"\n(lc-otel - empty handler) per additional streamed token: {per_token:,.0f} instructions")
    return 0


if __name__ == "__main__":
    sys.exit(main())

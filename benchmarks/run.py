"""Run the overhead benchmark and check its targets: ``python benchmarks/run.py [--quick] [--strict]``.

Every measurement runs in its own process (``benchmarks/worker.py``); in each of several rounds, the
processes of a workload's configurations take turns segment by segment, in a rotated order, and each figure
is the median over the rounds. The report is Markdown,
ready for ``benchmarks/README.md``. Targets print PASS or FAIL; only ``--strict`` makes a FAIL fail the run.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make ``benchmarks`` importable
    sys.path.insert(0, str(ROOT))

from benchmarks.configs import CONFIGS  # noqa: E402
from benchmarks.sink import OtlpSink  # noqa: E402
from benchmarks.workloads import LONG_STREAM_TOKENS, STREAM_TOKENS, WORKLOADS  # noqa: E402

OTLP = "lc-otel-otlp"


@dataclass(frozen=True)
class Plan:
    """How much to measure."""

    rounds: int
    iterations: dict[str, int]
    segments: dict[str, int]
    """Turns each configuration's process takes at timing its workload (see :func:`measure_interleaved`)."""
    warmup: dict[str, int]
    growth: tuple[int, int]
    open_runs: int
    token_rounds: int
    """Segments per configuration and stream length in each ``per-token`` process (one process per round)."""


# Segments of about a tenth of a second (concurrent: one batch of 500), many turns: the host's load changes
# at that scale, and the fastest of many short segments is the one it spared. Streams keep every chunk alive
# until the stream ends, so the cyclic GC's full collections (tens of ms each) come every few dozen streams:
# 20 streams hold one or none, and every configuration's fastest segment is one of the same kind. (Two long
# segments, which were to hold many collections each, left stream ratios between 1.1 and 3.1 by round.)
FULL = Plan(
    rounds=5,
    iterations={"simple": 2000, "nested": 400, "stream": 400, "stream-long": 100, "concurrent": 2000},
    segments={"simple": 10, "nested": 10, "stream": 20, "stream-long": 10, "concurrent": 4},
    warmup={"simple": 200, "nested": 40, "stream": 20, "stream-long": 6, "concurrent": 500},
    growth=(2000, 20000),
    open_runs=5000,
    token_rounds=10,
)
QUICK = Plan(
    rounds=1,
    iterations={"simple": 400, "nested": 80, "stream": 200, "stream-long": 50, "concurrent": 500},
    segments={"simple": 2, "nested": 2, "stream": 1, "stream-long": 1, "concurrent": 1},
    warmup={"simple": 50, "nested": 10, "stream": 5, "stream-long": 2, "concurrent": 100},
    growth=(1000, 4000),
    open_runs=5000,
    token_rounds=4,
)

# Thresholds of the targets (issue 7).
MAX_FLOOR_RATIO = 1.3
FLOOR_RATIO_WORKLOADS = ("simple", "nested", "stream", "concurrent")
"""The issue's four workloads. ``stream-long`` is there for the cost per token (its ratio is reported): its
tracers' overhead is a few percent of a 30 ms stream, below what a round resolves here (0.8 to 2.1 by round)."""
MAX_US_PER_TOKEN = 2.0
MAX_METRICS_SHARE = 0.10
"""Metrics on may add at most this share to lc-otel's overhead, on each of the floor-ratio workloads."""
MAX_BLOCKS_PER_INVOCATION = 0.01
MAX_OPEN_RUN_RATIO = 1.25


def _environment() -> dict[str, str]:
    env = dict(os.environ)
    for name in ("LANGCHAIN_TRACING_V2", "LANGSMITH_TRACING", "LANGCHAIN_TRACING"):
        env.pop(name, None)
    env["PYTHONHASHSEED"] = "0"  # the same dict and set layout in every process
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def worker(*args: str) -> dict[str, Any]:
    """Run one measurement process and return its JSON result."""
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.worker", *args],
        cwd=ROOT,
        env=_environment(),
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"worker {' '.join(args)} failed:\n{done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def workers_in_pairs(jobs: list[list[str]]) -> list[dict[str, Any]]:
    """Run untimed measurements two at a time (the machine has two cores); results in job order."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        return list(pool.map(lambda job: worker(*job), jobs))


class Served:
    """A ``serve`` worker process: one configuration and workload, timed segment by segment on request."""

    def __init__(self, *args: str) -> None:
        self.args = args
        # A file, not a pipe: a worker that logs much would block on a full pipe nobody reads while it works.
        self._stderr = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 - closed in close()
        self._process = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.worker", "serve", *args],
            cwd=ROOT,
            env=_environment(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
        )

    def _ask(self, line: str | None = None) -> dict[str, Any]:
        process = self._process
        assert process.stdin is not None
        assert process.stdout is not None
        if line is not None:
            process.stdin.write(line + "\n")
            process.stdin.flush()
        reply = process.stdout.readline()
        if not reply:
            process.wait(timeout=60)
            self._stderr.seek(0)
            raise RuntimeError(f"worker serve {' '.join(self.args)} failed:\n{self._stderr.read()}")
        answer: dict[str, Any] = json.loads(reply)
        return answer

    def ready(self) -> None:
        """Wait until the worker has warmed up."""
        self._ask()

    def segment(self, invocations: int) -> float:
        """Time one segment of ``invocations``; return its CPU us per invocation."""
        return float(self._ask(f"segment {invocations}")["cpu_us"])

    def finish(self) -> dict[str, Any]:
        """End the worker; return its result (the fastest segment, spans, runs, peak RSS)."""
        return self._ask("finish")

    def close(self) -> None:
        """Wait for the worker to exit and release its files; a worker not told to finish sees its stdin end."""
        try:
            self._process.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.communicate()
        finally:
            self._stderr.close()


def measure_interleaved(
    plan: Plan, configs: list[str], workload: str, round_no: int, sink: OtlpSink, log: Any
) -> list[dict[str, Any]]:
    """Time every configuration of ``workload``, each in its own process, taking turns segment by segment.

    All processes start and warm up first; then each times one segment in turn, in an order rotated every
    cycle, so the machine's drift (other processes on the host, which come and go over seconds) reaches every
    configuration alike instead of whichever process happened to run at that moment.
    """
    before = sink.spans
    served: dict[str, Served] = {}
    try:
        for config in configs:
            args = [f"--config={config}", f"--workload={workload}", f"--warmup={plan.warmup[workload]}"]
            if config == OTLP:
                args.append(f"--otlp-endpoint={sink.endpoint}")
            served[config] = Served(*args)
        for process in served.values():
            process.ready()
        segments = plan.segments[workload]
        per_segment = plan.iterations[workload] // segments
        for cycle in range(segments):
            shift = (round_no + cycle) % len(configs)
            for config in configs[shift:] + configs[:shift]:
                served[config].segment(per_segment)
        results = [served[config].finish() for config in configs]
    finally:
        for process in served.values():
            process.close()
    for result in results:
        result["round"] = round_no
        if result["config"] == OTLP:
            result["spans"] = (sink.spans - before) / (result["iterations"] + plan.warmup[workload])
        log(f"round {round_no + 1}/{plan.rounds} {workload:<10} {result['config']:<16} {result['cpu_us']:9.1f} us")
    return results


def measure(plan: Plan, configs: list[str], log: Any) -> dict[str, Any]:
    """Take every measurement of ``plan``; return the raw results."""
    timings: list[dict[str, Any]] = []
    with OtlpSink() as sink:
        for round_no in range(plan.rounds):
            for workload in WORKLOADS:
                timings.extend(measure_interleaved(plan, configs, workload, round_no, sink, log))
    per_token: list[float] = []
    for round_no in range(plan.rounds):
        result = worker("per-token", f"--rounds={plan.token_rounds}")
        per_token.append(result["per_token_us"])
        log(f"round {round_no + 1}/{plan.rounds} per-token (empty and lc-otel in one process) {per_token[-1]:6.2f} us")
    first, total = plan.growth
    growth_jobs = [
        ["growth", f"--config={config}", f"--workload={workload}", f"--first={first}", f"--total={total}"]
        for workload in ("stream", "nested", "concurrent", "simple")  # longest first: two at a time
        for config in ("lc-otel",)
    ]
    log(f"memory growth between {first} and {total} invocations ...")
    growth = workers_in_pairs(growth_jobs)
    log("open runs ...")
    open_runs = workers_in_pairs(
        [
            ["open-runs", f"--config={config}", f"--runs={plan.open_runs}", f"--cap={plan.open_runs}"]
            for config in ("raw", "lc-otel")
        ]
    )
    return {"timings": timings, "per_token": per_token, "growth": growth, "open_runs": open_runs}


# --- report ---------------------------------------------------------------------------------------------


def _median(results: list[dict[str, Any]], config: str, workload: str, key: str = "cpu_us") -> float:
    values = [r[key] for r in results if r["config"] == config and r["workload"] == workload]
    return statistics.median(values) if values else float("nan")


def _in_round(results: list[dict[str, Any]], config: str, workload: str, round_no: int) -> float:
    for r in results:
        if r["config"] == config and r["workload"] == workload and r["round"] == round_no:
            return float(r["cpu_us"])
    return float("nan")


def _floor_ratio(results: list[dict[str, Any]], config: str, workload: str) -> float:
    """Overhead / floor overhead, from the measurements of each round, then the median over the rounds.

    A round measures every configuration of a workload one after another, so the machine is the same for
    all of them; comparing across rounds would add the machine's drift between rounds to the ratio.
    """
    ratios: list[float] = []
    for round_no in sorted({r["round"] for r in results}):
        none = _in_round(results, "none", workload, round_no)
        floor = _in_round(results, "raw", workload, round_no) - none
        ratios.append((_in_round(results, config, workload, round_no) - none) / floor)
    return statistics.median(ratios) if ratios else float("nan")


def _metrics_share(results: list[dict[str, Any]], workload: str, config: str = "lc-otel-metrics") -> float:
    """(overhead with metrics - overhead without) / overhead without, per round, then the median."""
    shares: list[float] = []
    for round_no in sorted({r["round"] for r in results}):
        none = _in_round(results, "none", workload, round_no)
        plain = _in_round(results, "lc-otel", workload, round_no) - none
        shares.append((_in_round(results, config, workload, round_no) - none - plain) / plain)
    return statistics.median(shares) if shares else float("nan")


def _spread(results: list[dict[str, Any]], config: str, workload: str) -> str:
    values = [r["cpu_us"] for r in results if r["config"] == config and r["workload"] == workload]
    if len(values) < 2:
        return "-"
    return f"{min(values):.0f}-{max(values):.0f}"


def _first(results: list[dict[str, Any]], config: str, workload: str, key: str) -> Any:
    for r in results:
        if r["config"] == config and r["workload"] == workload:
            return r[key]
    return None


def _fmt(value: float | None, digits: int = 2) -> str:
    if value is None or value != value:  # noqa: PLR0124 - NaN check
        return "-"
    return f"{value:.{digits}f}"


@dataclass
class Check:
    """One target: what, the figure, the limit, and whether it holds."""

    name: str
    figure: str
    limit: str
    ok: bool


def report(raw: dict[str, Any], configs: list[str]) -> tuple[str, list[Check]]:
    """Render the Markdown tables and evaluate the targets."""
    timings = raw["timings"]
    lines: list[str] = []
    checks: list[Check] = []
    for workload, spec in WORKLOADS.items():
        none = _median(timings, "none", workload)
        runs = _first(timings, "none", workload, "runs")
        lines += [
            f"### {workload}: {spec.description} ({runs} runs per invocation)",
            "",
            "| configuration | CPU us / invocation | range over rounds | overhead us | x no tracing "
            "| overhead / floor | spans / inv. | attributes / inv. | peak RSS MB |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for config in configs:
            cpu = _median(timings, config, workload)
            overhead = cpu - none
            spans = _first(timings, config, workload, "spans")
            attributes = _first(timings, config, workload, "attributes")
            rss = _median(timings, config, workload, "peak_rss_kb") / 1024
            lines.append(
                f"| {config} | {cpu:.0f} | {_spread(timings, config, workload)} | {overhead:.0f} "
                f"| {cpu / none:.3f} | {_fmt(_floor_ratio(timings, config, workload)) if config != 'none' else '-'} "
                f"| {_fmt(spans, 1)} | {_fmt(attributes, 1)} | {rss:.1f} |"
            )
            if spans is not None and spans != runs and config != "none":
                checks.append(Check(f"{workload}: {config} spans per invocation", f"{spans}", f"= {runs} runs", False))
        lines.append("")
        ratio = _floor_ratio(timings, "lc-otel", workload)
        if workload in FLOOR_RATIO_WORKLOADS:
            checks.append(
                Check(
                    f"{workload}: lc-otel overhead / floor overhead",
                    f"{ratio:.2f}",
                    f"<= {MAX_FLOOR_RATIO}",
                    ratio <= MAX_FLOOR_RATIO,
                )
            )
        else:
            checks.append(
                Check(f"{workload}: lc-otel overhead / floor overhead (reported)", f"{ratio:.2f}", "reported", True)
            )
        if "lc-otel-metrics" in configs:
            share = _metrics_share(timings, workload)
            checks.append(
                Check(
                    f"{workload}: metrics on, added to lc-otel's overhead",
                    f"{share:+.1%}",
                    f"<= {MAX_METRICS_SHARE:.0%}" if workload in FLOOR_RATIO_WORKLOADS else "reported",
                    share <= MAX_METRICS_SHARE or workload not in FLOOR_RATIO_WORKLOADS,
                )
            )
        if "lc-otel-metrics-own" in configs:
            own = _metrics_share(timings, workload, "lc-otel-metrics-own")
            checks.append(
                Check(
                    f"{workload}: metrics on, lc-otel's own part (the SDK's record() left out)",
                    f"{own:+.1%}",
                    "reported",
                    True,
                )
            )
        spans_ok = all(_first(timings, c, workload, "spans") == runs for c in configs if c not in ("none", "empty"))
        checks.append(Check(f"{workload}: spans per invocation = runs", f"{runs}", "every tracing config", spans_ok))
    tokens = _first(timings, "none", "stream", "tokens") or STREAM_TOKENS
    above_empty = {w: _median(timings, "lc-otel", w) - _median(timings, "empty", w) for w in ("stream", "stream-long")}
    # All in: the stream's 4 spans are charged to its tokens too.
    all_in = above_empty["stream"] / tokens
    # Marginal: what one more token costs, from the two stream lengths; the spans cancel out. From the
    # separate processes above, the difference of two differences of ~30 ms figures: several us of noise.
    separate = (above_empty["stream-long"] - above_empty["stream"]) / (LONG_STREAM_TOKENS - tokens)
    # The same marginal with empty and lc-otel side by side in one process: the figure the target uses.
    paired = statistics.median(raw["per_token"])
    checks.append(
        Check(
            "stream: (lc-otel - empty handler) per additional token, in one process, us",
            f"{paired:.2f} (rounds: {', '.join(f'{v:.2f}' for v in raw['per_token'])})",
            f"<= {MAX_US_PER_TOKEN}",
            paired <= MAX_US_PER_TOKEN,
        )
    )
    checks.append(
        Check(
            "stream: the same from the separate processes' medians, us (reported; noise of several us)",
            f"{separate:.2f}",
            "reported",
            True,
        )
    )
    checks.append(
        Check(
            "stream: (lc-otel - empty handler) / tokens, spans included, us (reported)",
            f"{all_in:.2f}",
            "reported",
            True,
        )
    )
    lines += [
        f"### Memory growth between invocation {raw['growth'][0]['first']} and {raw['growth'][0]['total']}",
        "",
        "| workload | configuration | live allocations (blocks) | per invocation | RSS KB | open runs left |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for g in raw["growth"]:
        per = g["blocks_growth"] / (g["total"] - g["first"])
        lines.append(
            f"| {g['workload']} | {g['config']} | {g['blocks_growth']:+d} | {per:+.4f} | {g['rss_growth_kb']:+d} "
            f"| {g['open_runs']} |"
        )
        if g["config"] == "lc-otel":
            checks.append(
                Check(
                    f"{g['workload']}: lc-otel live allocations growth per invocation",
                    f"{per:+.4f}",
                    f"<= {MAX_BLOCKS_PER_INVOCATION} and no open runs left",
                    per <= MAX_BLOCKS_PER_INVOCATION and g["open_runs"] == 0,
                )
            )
    lines.append("")
    floor_run = next(r for r in raw["open_runs"] if r["config"] == "raw")
    ours = next(r for r in raw["open_runs"] if r["config"] == "lc-otel")
    ceiling = floor_run["bytes_per_run"] * ours["cap"]
    lines += [
        f"### Runs that never end (eviction cap {ours['cap']})",
        "",
        "| | bytes per open run | x raw SDK spans |",
        "|---|---:|---:|",
        f"| raw open SDK spans, same attributes | {floor_run['bytes_per_run']:.0f} | 1.00 |",
        f"| lc-otel, {ours['runs']} open runs | {ours['bytes_per_run']:.0f} "
        f"| {ours['bytes_per_run'] / floor_run['bytes_per_run']:.2f} |",
        f"| lc-otel after {2 * ours['runs']} runs (cap reached, {ours['evicted_spans']} spans evicted) "
        f"| {ours['bytes_after_twice'] / ours['cap']:.0f} | {ours['bytes_after_twice'] / ceiling:.2f} |",
        "",
    ]
    ratio = ours["bytes_per_run"] / floor_run["bytes_per_run"]
    checks.append(
        Check("open runs: lc-otel / raw SDK spans", f"{ratio:.2f}", f"<= {MAX_OPEN_RUN_RATIO}", ratio <= 1.25)
    )
    beyond = ours["bytes_after_twice"] / ceiling
    checks.append(
        Check(
            "open runs past the cap: memory / raw spans at the cap",
            f"{beyond:.2f} ({ours['open_runs']} open)",
            f"<= {MAX_OPEN_RUN_RATIO}, {ours['cap']} open",
            beyond <= MAX_OPEN_RUN_RATIO and ours["open_runs"] == ours["cap"],
        )
    )
    if OTLP in configs:
        lines += [
            "### Export cost (OTLP/HTTP protobuf to a local sink, BatchSpanProcessor)",
            "",
            "| workload | lc-otel, dropping exporter us | lc-otel, OTLP exporter us | export us / invocation "
            "| export us / span |",
            "|---|---:|---:|---:|---:|",
        ]
        for workload in WORKLOADS:
            dropping = _median(timings, "lc-otel", workload)
            otlp = _median(timings, OTLP, workload)
            spans = _first(timings, OTLP, workload, "spans") or 1
            export = otlp - dropping
            lines.append(f"| {workload} | {dropping:.0f} | {otlp:.0f} | {export:.0f} | {export / spans:.1f} |")
        lines.append("")
    return "\n".join(lines), checks


def header() -> str:
    """Date, machine and versions, for the README table."""
    versions = ", ".join(
        f"{name} {metadata.version(name)}"
        for name in ("lc-otel", "langchain-core", "opentelemetry-sdk", "opentelemetry-exporter-otlp-proto-http")
    )
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as info:
            cpu = next(line.split(":", 1)[1].strip() for line in info if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return (
        f"{datetime.date.today().isoformat()} · {os.cpu_count()} cores ({cpu}) · {platform.system()} · "
        f"Python {platform.python_version()} · {versions}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="one round, fewer iterations (about 4 minutes)")
    parser.add_argument("--rounds", type=int, help="override the number of rounds")
    parser.add_argument("--strict", action="store_true", help="exit with status 1 when a target fails")
    parser.add_argument("--json", type=Path, help="also write the raw results to this file")
    parser.add_argument("--report-from", type=Path, help="print the report of raw results saved with --json")
    args = parser.parse_args(argv)
    plan = QUICK if args.quick else FULL
    if args.rounds:
        plan = replace(plan, rounds=args.rounds)
    configs = [*CONFIGS, OTLP]
    started = time.monotonic()

    def log(message: str) -> None:
        print(f"[{time.monotonic() - started:6.0f}s] {message}", file=sys.stderr, flush=True)

    raw = json.loads(args.report_from.read_text()) if args.report_from else measure(plan, configs, log)
    if args.json:
        args.json.write_text(json.dumps(raw, indent=1))
    text, checks = report(raw, configs)
    print(f"{header()}\n")
    print(text)
    print("### Targets\n")
    for check in checks:
        print(f"- {'PASS' if check.ok else 'FAIL'} {check.name}: {check.figure} (target {check.limit})")
    failed = [c for c in checks if not c.ok]
    log(f"done: {len(checks) - len(failed)} of {len(checks)} targets met")
    return 1 if failed and args.strict else 0


if __name__ == "__main__":
    sys.exit(main())

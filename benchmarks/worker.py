"""One measurement in a fresh process: ``python -m benchmarks.worker MODE ...`` prints JSON objects, one per line.

Modes:
- ``serve``: CPU time per invocation of a workload under a configuration, in segments the driver asks for on
  stdin (so that it can interleave the configurations' processes), then spans and attributes per invocation
  (counted by the exporter, and runs per invocation counted by a separate handler) and peak RSS.
- ``growth``: memory after 2,000 and after 20,000 invocations (RSS and live Python allocations).
- ``open-runs``: memory held by runs that never end, with lc-otel's eviction cap or as raw open SDK spans.
- ``per-token``: lc-otel's cost per additional streamed token above the empty handler, both configurations
  in this one process (see :func:`benchmarks.paired.per_token`).
- ``work``: only the invocations, for ``benchmarks/instructions.py`` to count the instructions they execute.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import sys
import time
import tracemalloc
import uuid
from collections.abc import Callable
from typing import Any

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.runnables import RunnableConfig

from benchmarks.configs import DroppingExporter, RawSpansHandler, Setup, setup
from benchmarks.paired import per_token
from benchmarks.workloads import WORKLOADS


class RunCounter(BaseCallbackHandler):
    """Counts run starts and streamed tokens, to check span counts against the runs LangChain made."""

    run_inline = True

    def __init__(self) -> None:
        super().__init__()
        self.runs = 0
        self.tokens = 0

    def on_chain_start(self, *args: Any, **kwargs: Any) -> None:
        self.runs += 1

    def on_chat_model_start(self, *args: Any, **kwargs: Any) -> None:
        self.runs += 1

    def on_llm_start(self, *args: Any, **kwargs: Any) -> None:
        self.runs += 1

    def on_tool_start(self, *args: Any, **kwargs: Any) -> None:
        self.runs += 1

    def on_retriever_start(self, *args: Any, **kwargs: Any) -> None:
        self.runs += 1

    def on_llm_new_token(self, *args: Any, **kwargs: Any) -> None:
        self.tokens += 1


def _peak_rss_kb() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # kilobytes on Linux


def _rss_kb() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * (os.sysconf("SC_PAGE_SIZE") // 1024)


def _warmed_up(
    config: str, workload: str, warmup: int, otlp_endpoint: str | None = None
) -> tuple[Setup, Callable[[RunnableConfig, int], None], RunnableConfig]:
    """Build ``config``, run ``warmup`` invocations of ``workload``, flush, and zero the exporter's counts."""
    built = setup(config, otlp_endpoint=otlp_endpoint)
    run = WORKLOADS[workload].run
    run_config = RunnableConfig(callbacks=list(built.callbacks))
    run(run_config, warmup)
    if built.provider is not None:
        built.provider.force_flush()
    if built.exporter is not None:
        built.exporter.spans = built.exporter.attributes = built.exporter.events = 0
    return built, run, run_config


class SegmentTimer:
    """One configuration and workload, warmed up, timed in segments of invocations."""

    def __init__(self, config: str, workload: str, warmup: int, otlp_endpoint: str | None = None) -> None:
        self.config = config
        self.workload = workload
        self._built, self._run, self._run_config = _warmed_up(config, workload, warmup, otlp_endpoint)
        self.times: list[float] = []
        """Seconds of CPU per invocation, one entry per segment."""
        self._invocations = 0

    def segment(self, invocations: int) -> float:
        """Time ``invocations`` invocations, flushing the span pipeline included; return us per invocation."""
        gc.collect()  # every segment starts from the same collector state
        start = time.process_time()
        self._run(self._run_config, invocations)
        if self._built.provider is not None:
            self._built.provider.force_flush()
        self.times.append((time.process_time() - start) / invocations)
        self._invocations += invocations
        return self.times[-1] * 1e6

    def result(self) -> dict[str, Any]:
        """The figures of the segments so far (the fastest segment is the CPU time), then shut down."""
        exporter = self._built.exporter
        counter = RunCounter()
        self._run(RunnableConfig(callbacks=[counter]), 1)
        invocations = self._invocations
        result: dict[str, Any] = {
            "mode": "time",
            "config": self.config,
            "workload": self.workload,
            "iterations": invocations,
            "cpu_us": min(self.times) * 1e6,
            "cpu_us_mean": sum(self.times) / len(self.times) * 1e6,
            "runs": counter.runs,
            "tokens": counter.tokens,
            "spans": exporter.spans / invocations if exporter is not None else None,
            "attributes": exporter.attributes / invocations if exporter is not None else None,
            "peak_rss_kb": _peak_rss_kb(),
        }
        if self._built.provider is not None:
            self._built.provider.shutdown()
        return result


def serve(config: str, workload: str, warmup: int, otlp_endpoint: str | None) -> None:
    """Time segments on request, so that the driver can interleave several configurations' processes.

    Prints ``{"ready": true}`` once warmed up; then, for each ``segment N`` line on stdin, the segment's
    ``{"cpu_us": ...}``; on ``finish`` (or the end of stdin), :meth:`SegmentTimer.result` as the last line.
    """
    timer = SegmentTimer(config, workload, warmup, otlp_endpoint)
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        command = line.split()
        if not command or command[0] != "segment":
            break
        print(json.dumps({"cpu_us": timer.segment(int(command[1]))}), flush=True)
    print(json.dumps(timer.result()), flush=True)


def run_work(config: str, workload: str, iterations: int, warmup: int) -> dict[str, Any]:
    """Run ``iterations`` invocations after ``warmup`` ones, the collector off: the same work on every run.

    A full collection costs millions of instructions, and whether one falls inside the measured invocations
    would decide the count; with it off, repeated counts agree to within a few tenths of a percent.
    """
    built, run, run_config = _warmed_up(config, workload, warmup)
    exporter = built.exporter
    gc.collect()
    gc.disable()
    run(run_config, iterations)
    if built.provider is not None:
        built.provider.force_flush()
    gc.enable()
    spans = exporter.spans if exporter is not None else None
    return {"mode": "work", "config": config, "workload": workload, "iterations": iterations, "spans": spans}


def measure_growth(config: str, workload: str, first: int, total: int) -> dict[str, Any]:
    """Memory after ``first`` and after ``total`` invocations, each after a full collection and a flush."""
    built = setup(config)
    run = WORKLOADS[workload].run
    run_config = RunnableConfig(callbacks=list(built.callbacks))

    def snapshot() -> tuple[int, int]:
        if built.provider is not None:
            built.provider.force_flush()
        gc.collect()
        return _rss_kb(), sys.getallocatedblocks()

    run(run_config, first)
    rss_first, blocks_first = snapshot()
    run(run_config, total - first)
    rss_last, blocks_last = snapshot()
    open_runs = getattr(built.handler, "open_runs", 0)
    return {
        "mode": "growth",
        "config": config,
        "workload": workload,
        "first": first,
        "total": total,
        "rss_growth_kb": rss_last - rss_first,
        "blocks_growth": blocks_last - blocks_first,
        "open_runs": open_runs,
        "peak_rss_kb": _peak_rss_kb(),
    }


def _start_pair(handler: BaseCallbackHandler) -> None:
    """Start a chain run and a chat-model run under it, the way LangChain reports them; never end them."""
    root = uuid.uuid4()
    handler.on_chain_start(None, {"question": "q"}, run_id=root, parent_run_id=None, name="agent")
    handler.on_chat_model_start(
        {"name": "FakeChatModel"},
        [[]],
        run_id=uuid.uuid4(),
        parent_run_id=root,
        name="FakeChatModel",
        metadata={"ls_provider": "fake", "ls_model_name": "bench-model-1"},
        invocation_params={"model": "bench-model-1"},
    )


def measure_open_runs(config: str, runs: int, cap: int) -> dict[str, Any]:
    """Bytes held per open run after ``runs`` runs that never end (and after twice as many, for lc-otel)."""
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider()
    exporter = DroppingExporter()
    provider.add_span_processor(BatchSpanProcessor(exporter))
    handler: BaseCallbackHandler
    if config == "raw":
        handler = RawSpansHandler(provider, attributes=True)
    else:
        from lc_otel import OpenTelemetryCallbackHandler
        from lc_otel._settings import Settings

        handler = OpenTelemetryCallbackHandler(provider, settings=Settings(max_open_runs=cap))
    _start_pair(handler)  # import and warm every code path before counting bytes
    tracemalloc.start()
    gc.collect()
    base = tracemalloc.get_traced_memory()[0]
    for _ in range(runs // 2):
        _start_pair(handler)
    provider.force_flush()
    gc.collect()
    at_runs = tracemalloc.get_traced_memory()[0] - base
    result: dict[str, Any] = {
        "mode": "open-runs",
        "config": config,
        "runs": runs,
        "cap": cap,
        "bytes_per_run": at_runs / runs,
    }
    if isinstance(handler, RawSpansHandler):
        return result
    for _ in range(runs // 2):  # as many again: past the cap, memory must stay where it was
        _start_pair(handler)
    provider.force_flush()
    gc.collect()
    result["bytes_after_twice"] = tracemalloc.get_traced_memory()[0] - base
    result["bytes_at_runs"] = at_runs
    result["open_runs"] = getattr(handler, "open_runs", None)
    result["evicted_spans"] = exporter.spans
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", choices=("serve", "growth", "open-runs", "per-token", "work"))
    parser.add_argument("--config", default="lc-otel")
    parser.add_argument("--workload", default="simple")
    parser.add_argument("--iterations", type=int, default=100)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--first", type=int, default=2000)
    parser.add_argument("--total", type=int, default=20000)
    parser.add_argument("--runs", type=int, default=5000)
    parser.add_argument("--cap", type=int, default=5000)
    parser.add_argument("--otlp-endpoint")
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args(argv)
    if args.mode == "serve":
        serve(args.config, args.workload, args.warmup, args.otlp_endpoint)
        return
    if args.mode == "work":
        result = run_work(args.config, args.workload, args.iterations, args.warmup)
    elif args.mode == "per-token":
        result = {"per_token_us": per_token(args.rounds)}
    elif args.mode == "growth":
        result = measure_growth(args.config, args.workload, args.first, args.total)
    else:
        result = measure_open_runs(args.config, args.runs, args.cap)
    print(json.dumps(result))


if __name__ == "__main__":
    main()

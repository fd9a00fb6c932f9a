"""The benchmark's code works: each workload runs, and every tracing configuration makes one span per run.

No timing is asserted here: figures come from ``make bench`` only.
"""

from __future__ import annotations

import math
from dataclasses import replace

import pytest
from langchain_core.runnables import RunnableConfig

from benchmarks.configs import CONFIGS, setup
from benchmarks.paired import per_token
from benchmarks.run import QUICK, measure_interleaved
from benchmarks.sink import OtlpSink
from benchmarks.worker import RunCounter, SegmentTimer, measure_growth, measure_open_runs, run_work
from benchmarks.workloads import LONG_STREAM_TOKENS, STREAM_TOKENS, WORKLOADS

EXPECTED_RUNS = {"simple": 4, "nested": 11, "stream": 4, "stream-long": 4, "concurrent": 4}
EXPECTED_TOKENS = {"stream": STREAM_TOKENS, "stream-long": LONG_STREAM_TOKENS}


@pytest.mark.parametrize("workload", list(WORKLOADS))
def test_workload_makes_the_runs_it_claims(workload: str) -> None:
    counter = RunCounter()
    WORKLOADS[workload].run(RunnableConfig(callbacks=[counter]), 3)
    assert counter.runs == 3 * EXPECTED_RUNS[workload]
    assert counter.tokens == 3 * EXPECTED_TOKENS.get(workload, 0)


@pytest.mark.parametrize("config", ["raw-bare", "raw", "lc-otel", "lc-otel-content"])
@pytest.mark.parametrize("workload", list(WORKLOADS))
def test_tracing_configs_export_one_span_per_run(config: str, workload: str) -> None:
    built = setup(config)
    assert built.provider is not None
    assert built.exporter is not None
    try:
        WORKLOADS[workload].run(RunnableConfig(callbacks=list(built.callbacks)), 2)
        built.provider.force_flush()
    finally:
        built.provider.shutdown()
    assert built.exporter.spans == 2 * EXPECTED_RUNS[workload]
    if config == "raw-bare":
        assert built.exporter.attributes == 0
    else:
        assert built.exporter.attributes >= 4 * built.exporter.spans  # run id, type and name at least


def test_raw_floor_sets_as_many_attributes_as_lc_otel_on_invoke() -> None:
    counts = {}
    for config in ("raw", "lc-otel"):
        built = setup(config)
        assert built.provider is not None
        assert built.exporter is not None
        WORKLOADS["nested"].run(RunnableConfig(callbacks=list(built.callbacks)), 1)
        built.provider.force_flush()
        built.provider.shutdown()
        counts[config] = built.exporter.attributes
    assert counts["raw"] == counts["lc-otel"]


@pytest.mark.parametrize("config", CONFIGS)
def test_segment_timer_reports_counted_spans(config: str) -> None:
    timer = SegmentTimer(config, "simple", warmup=1)
    segments = [timer.segment(2), timer.segment(2)]
    result = timer.result()
    assert result["iterations"] == 4
    assert result["runs"] == 4
    assert result["cpu_us"] == min(segments) > 0
    assert result["spans"] == (None if config in ("none", "empty") else 4.0)


def test_growth_mode_leaves_no_open_runs() -> None:
    result = measure_growth("lc-otel", "simple", first=2, total=6)
    assert result["open_runs"] == 0
    assert result["total"] - result["first"] == 4


def test_open_runs_mode_stops_at_the_cap() -> None:
    ours = measure_open_runs("lc-otel", runs=40, cap=40)
    assert ours["open_runs"] == 40
    assert ours["evicted_spans"] >= 40  # the second 40 runs pushed the first 40 out, ended
    floor = measure_open_runs("raw", runs=40, cap=40)
    assert floor["bytes_per_run"] > 0


def test_per_token_mode_gives_a_figure_and_leaves_propagation_off(monkeypatch: pytest.MonkeyPatch) -> None:
    from lc_otel._propagation import install as propagation

    was_installed = propagation.is_installed()
    monkeypatch.setattr(propagation, "_decided", propagation._decided)  # restored after the test, as the rest expects
    try:
        figure = per_token(rounds=1)
        assert math.isfinite(figure)
        assert not propagation.is_installed()  # it measures lc-otel with propagation, then takes it away
    finally:
        if was_installed:
            propagation.install()


def test_work_mode_runs_the_invocations_and_leaves_the_collector_on() -> None:
    import gc

    result = run_work("lc-otel", "simple", iterations=3, warmup=1)
    assert result["spans"] == 3 * EXPECTED_RUNS["simple"]  # the measured invocations, not the warm-up
    assert gc.isenabled()


def test_interleaved_worker_processes_time_every_configuration() -> None:
    """The driver's protocol with ``serve`` workers: every configuration timed in turns, OTLP spans counted."""
    configs = ["none", "raw", "lc-otel", "lc-otel-otlp"]
    plan = replace(QUICK, iterations={"simple": 4}, segments={"simple": 2}, warmup={"simple": 1})
    lines: list[str] = []
    with OtlpSink() as sink:
        results = measure_interleaved(plan, configs, "simple", 0, sink, lines.append)
    assert [result["config"] for result in results] == configs
    for result in results:
        assert (result["iterations"], result["runs"], result["round"]) == (4, 4, 0)
        assert result["cpu_us"] > 0
    assert [result["spans"] for result in results] == [None, 4.0, 4.0, 4.0]
    assert len(lines) == len(configs)

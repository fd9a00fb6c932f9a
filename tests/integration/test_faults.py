"""Faults against the real backend: down, hanging, restarted mid-run. Chains never slow down or raise.

The test starts its own Phoenix on free ports (the shared one stays up for the other tests), exports to it over
gRPC and HTTP at once, and stops, freezes and restarts it.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from typing import Any

import pytest
from langchain_core.runnables import Runnable, RunnableLambda
from opentelemetry.sdk.trace import TracerProvider

from lc_otel._export.configure import build_processor, resolve_target
from lc_otel._export.pipeline import BoundedBatchProcessor
from lc_otel._settings import Settings
from lc_otel.handler import OpenTelemetryCallbackHandler
from tests.integration.conftest import Phoenix, PhoenixProcess

pytestmark = pytest.mark.integration
QUEUE = 200
# An invocation that waited for an export would take the export timeout (2 s); CPU contention on a busy
# 2-core machine while Phoenix starts stays well under this.
SLOW = 1.0


class Pipeline:
    """A provider exporting through lc_otel's pipeline, and a chain traced on it."""

    def __init__(self, endpoint: str, protocol: str) -> None:
        self.processor = build_processor(resolve_target(endpoint, protocol), timeout=2.0, retry_after=0.5)
        assert isinstance(self.processor, BoundedBatchProcessor)
        self.provider = TracerProvider()
        self.provider.add_span_processor(self.processor)
        self.handler = OpenTelemetryCallbackHandler(self.provider, settings=Settings())
        self.target = self.processor.guard  # for log matching
        self.endpoint = endpoint

    def run(self, chain: Runnable[int, int], marker: str, times: int) -> float:
        """Invoke ``chain`` ``times`` times; return the slowest invocation in seconds."""
        slowest = 0.0
        for i in range(times):
            began = time.perf_counter()
            assert chain.invoke(i, {"callbacks": [self.handler], "metadata": {"marker": marker}}) == i + 1
            slowest = max(slowest, time.perf_counter() - began)
        return slowest


def _chain() -> Runnable[int, int]:
    add = RunnableLambda(lambda x: x + 1).with_config(run_name="add")
    same = RunnableLambda(lambda x: x).with_config(run_name="same")
    return (add | same).with_config(run_name="fault_chain")


def _baseline(chain: Runnable[int, int], times: int) -> float:
    """Seconds for ``times`` invocations traced by a handler whose provider exports nowhere."""
    handler = OpenTelemetryCallbackHandler(TracerProvider(), settings=Settings())
    began = time.perf_counter()
    for i in range(times):
        chain.invoke(i, {"callbacks": [handler], "metadata": {"marker": "baseline"}})
    return time.perf_counter() - began


def _whole_trees(spans: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    traces: dict[str, list[dict[str, Any]]] = {}
    for span in spans:
        traces.setdefault(span["context"]["trace_id"], []).append(span)
    return [tree for tree in traces.values() if len(tree) == 3]


def _assert_new_spans_arrive(phoenix: Phoenix, pipeline: Pipeline, chain: Runnable[int, int]) -> None:
    """Keep running the chain until one whole tree of it shows up in Phoenix, then check that tree.

    While the backend finishes starting, an export may still fail, and a tree whose children went out in one
    batch and whose root in a failed one stays partial for good: a complete tree is what must arrive.
    """
    marker = f"after-{uuid.uuid4().hex[:8]}"

    def run_and_flush() -> None:
        pipeline.run(chain, marker, 1)
        pipeline.processor.force_flush()

    deadline = time.monotonic() + 30
    trees = _whole_trees(phoenix.spans(**{"langchain.metadata.marker": marker}))
    while not trees and time.monotonic() < deadline:
        run_and_flush()
        time.sleep(0.25)
        trees = _whole_trees(phoenix.spans(**{"langchain.metadata.marker": marker}))
    assert trees, f"no whole trace arrived after the backend came back ({pipeline.endpoint})"
    tree = trees[0]
    assert sorted(span["name"] for span in tree) == ["add", "fault_chain", "same"]
    root = next(span for span in tree if span["name"] == "fault_chain")
    assert all(span["parent_id"] == root["context"]["span_id"] for span in tree if span is not root)


@pytest.fixture(name="fast_settings")
def _fast_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "100")
    monkeypatch.setenv("OTEL_BSP_MAX_QUEUE_SIZE", str(QUEUE))
    monkeypatch.setenv("LC_OTEL_SHUTDOWN_TIMEOUT", "1")


@pytest.mark.usefixtures("fast_settings")
def test_backend_down_hanging_and_restarted(own_phoenix: PhoenixProcess, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    phoenix = own_phoenix.api
    pipelines = [Pipeline(phoenix.grpc_endpoint, "grpc"), Pipeline(phoenix.base_url, "http/protobuf")]
    chain = _chain()
    baseline = _baseline(chain, 300)

    # 1. The backend is down: same speed, no exception, a bounded queue, drops counted and logged once.
    for pipeline in pipelines:
        began = time.perf_counter()
        pipeline.run(chain, "down", 300)  # 900 spans, queue of 200
        elapsed = time.perf_counter() - began
        assert elapsed < 2 * baseline + 0.5, (elapsed, baseline)
        assert pipeline.processor.queued <= QUEUE
    time.sleep(1.5)  # let the exporters fail
    for pipeline in pipelines:
        assert pipeline.processor.guard.dropped >= 900 - QUEUE
        drops = [
            r for r in caplog.records if "dropping spans" in r.getMessage() and pipeline.endpoint in r.getMessage()
        ]
        assert len(drops) == 1, [r.getMessage() for r in drops]
    noisy = [r for r in caplog.records if r.name.startswith("opentelemetry") and r.levelno >= logging.WARNING]
    assert noisy == [], [r.getMessage() for r in noisy]

    # 2. The backend comes up: new spans arrive, whole trees.
    own_phoenix.start()
    for pipeline in pipelines:
        _assert_new_spans_arrive(phoenix, pipeline, chain)

    # 3. The backend hangs (frozen process: connections accepted, never answered): chains do not wait.
    own_phoenix.pause()
    try:
        for pipeline in pipelines:
            frozen_slowest = pipeline.run(chain, "frozen", 200)
            assert frozen_slowest < SLOW, frozen_slowest
            assert pipeline.processor.queued <= QUEUE
    finally:
        own_phoenix.resume()

    # 4. Restarted mid-run: chains keep running in a thread while it stops and starts again.
    errors: list[BaseException] = []
    slowest: list[float] = []
    stop = threading.Event()

    def keep_running() -> None:
        try:
            while not stop.is_set():
                for pipeline in pipelines:
                    slowest.append(pipeline.run(chain, "during-restart", 5))
                time.sleep(0.01)
        except BaseException as error:  # noqa: BLE001 - reported by the assertion below
            errors.append(error)

    worker = threading.Thread(target=keep_running)
    worker.start()
    try:
        own_phoenix.stop()
        time.sleep(1.0)
        own_phoenix.start()
    finally:
        stop.set()
        worker.join(30)
    assert errors == []
    assert slowest
    assert max(slowest) < SLOW, max(slowest)
    for pipeline in pipelines:
        _assert_new_spans_arrive(phoenix, pipeline, chain)
        recovered = [r for r in caplog.records if "again" in r.getMessage() and pipeline.endpoint in r.getMessage()]
        assert recovered, "a recovery is logged"

    for pipeline in pipelines:
        began = time.perf_counter()
        pipeline.provider.shutdown()
        assert time.perf_counter() - began < 2.0

"""A pre-fork server (gunicorn, celery, uwsgi) forks while spans wait in the export queue: the child exports."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

# Runs in a process of its own, so the fork happens away from pytest's threads and warning filters.
_SCRIPT = textwrap.dedent(
    """
    import json, os
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from lc_otel._export.pipeline import BoundedBatchProcessor, ExportGuard

    exporter = InMemorySpanExporter()
    guard = ExportGuard(exporter, target="memory", retry_after=30.0)
    # 49 spans stay queued: under the batch size (50), an hour before the scheduled export.
    processor = BoundedBatchProcessor(
        guard, max_queue_size=50, shutdown_timeout=5.0, schedule_delay_millis=3_600_000
    )
    provider = TracerProvider()
    provider.add_span_processor(processor)
    tracer = provider.get_tracer("fork-test")
    for i in range(49):
        tracer.start_span(f"parent-{i}").end()
    assert processor.queued == 49

    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_end)
        for i in range(50):
            tracer.start_span(f"child-{i}").end()
        provider.force_flush()
        names = [s.name for s in exporter.get_finished_spans()]
        report = {"exported": names, "dropped": guard.dropped, "queued": processor.queued}
        os.write(write_end, json.dumps(report).encode())
        os._exit(0)
    os.close(write_end)
    chunks = []
    while chunk := os.read(read_end, 65536):
        chunks.append(chunk)
    _, status = os.waitpid(pid, 0)
    provider.force_flush()
    parent = [s.name for s in exporter.get_finished_spans()]
    print(json.dumps({"child": json.loads(b"".join(chunks)), "status": status, "parent": parent}))
    """
)


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="no fork() on this platform")
def test_a_forked_child_exports_every_span_it_ends() -> None:
    done = subprocess.run([sys.executable, "-c", _SCRIPT], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    child = result["child"]
    assert result["status"] == 0
    # The SDK dropped the parent's queue in the child (the parent exports those): the child's own 50 all go.
    assert sorted(child["exported"]) == sorted(f"child-{i}" for i in range(50))
    assert child["dropped"] == 0
    assert child["queued"] == 0
    # The parent is untouched by the fork: its 49 queued spans are exported, none twice.
    assert sorted(result["parent"]) == sorted(f"parent-{i}" for i in range(49))

"""A small application run in a child process by the export tests: ``configure()`` reads its environment.

``python -m tests.metrics.child_app run``: configure, make one chat call, one streamed call and one failing
tool call, flush everything and exit. ``... serve``: the same, then print ``ready`` and keep serving (the
Prometheus endpoint) until standard input closes.
"""

from __future__ import annotations

import contextlib
import sys

from langchain_core.tools import tool
from opentelemetry import metrics, trace
from opentelemetry._logs import get_logger_provider

import lc_otel
from lc_otel.testing import FakeChatModel, reply


@tool
def explode(a: int) -> int:
    """Always fails."""
    raise ValueError("no luck")


def main() -> None:
    lc_otel.configure(service_name="metrics-child")
    lc_otel.instrument()
    model = FakeChatModel(responses=[reply("one two", input_tokens=7, output_tokens=3)])
    model.invoke("What is the password?")
    list(model.stream("hi"))
    with contextlib.suppress(ValueError):
        explode.invoke({"a": 1})
    serve = sys.argv[1:] == ["serve"]
    # A pull exporter collects on each scrape; a flush would queue one more collection (served twice).
    providers = (
        (trace.get_tracer_provider(), get_logger_provider())
        if serve
        else (metrics.get_meter_provider(), trace.get_tracer_provider(), get_logger_provider())
    )
    for provider in providers:
        flush = getattr(provider, "force_flush", None)
        if flush is not None:
            flush()
    print(type(metrics.get_meter_provider()).__name__, flush=True)
    if serve:
        print("ready", flush=True)
        sys.stdin.read()


if __name__ == "__main__":
    main()

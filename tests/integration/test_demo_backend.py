"""`lc-otel demo --endpoint`: the demo's trace arrives whole in a real OTLP backend (Phoenix), over gRPC and HTTP."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import Phoenix

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.integration


def tree(spans: list[dict[str, Any]]) -> list[tuple[str, list[Any]]]:
    def children(parent: str | None) -> list[tuple[str, list[Any]]]:
        found = [s for s in spans if s["parent_id"] == parent]
        found.sort(key=lambda s: s["start_time"])
        return [(s["name"], children(s["context"]["span_id"])) for s in found]

    return children(None)


@pytest.mark.parametrize("protocol", ["grpc", "http/protobuf"])
def test_demo_exports_its_trace_and_prints_the_jaeger_link(phoenix: Phoenix, protocol: str, tmp_path: Path) -> None:
    marker = f"it-{uuid.uuid4().hex[:12]}"
    endpoint = phoenix.grpc_endpoint if protocol == "grpc" else phoenix.base_url
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "LC_OTEL_"))}
    env["LC_OTEL_JAEGER_UI"] = "http://jaeger.example:16686/"
    env["NO_COLOR"] = "1"
    done = subprocess.run(
        [sys.executable, "-m", "lc_otel", "demo", "--endpoint", endpoint, "--protocol", protocol, "--tag", marker],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    # The demo names the URL it exported to, resolved as configure() resolves it: /v1/traces added for HTTP.
    exported_to = endpoint if protocol == "grpc" else f"{endpoint}/v1/traces"
    assert f"Spans exported to {exported_to} (OTLP {protocol})." in done.stdout
    link = re.search(r"^Jaeger UI: http://jaeger\.example:16686/trace/([0-9a-f]{32})$", done.stdout, re.MULTILINE)
    assert link, done.stdout
    assert not (tmp_path / "lc-otel-spans.jsonl").exists()  # an endpoint replaces the file

    spans = phoenix.wait_for(10, **{f"langchain.tag.{marker}": True})
    assert len(spans) == 10
    assert {s["context"]["trace_id"].removeprefix("0x") for s in spans} == {link[1]}
    assert tree(spans) == [
        (
            "office-assistant",
            [
                ("retrieval handbook", []),
                ("plan", [("ChatPromptTemplate", []), ("chat scripted-chat-1", [])]),
                ("execute_tool get_weather", []),
                ("execute_tool order_status", []),
                ("answer", [("ChatPromptTemplate", []), ("chat scripted-chat-1", [])]),
            ],
        )
    ]
    by_name = {s["name"]: s for s in spans}
    assert by_name["execute_tool order_status"]["status_code"] == "ERROR"
    assert by_name["execute_tool get_weather"]["status_code"] != "ERROR"
    root = by_name["office-assistant"]["attributes"]
    assert root["langchain.usage.input_tokens"] == 228
    assert root["langchain.usage.output_tokens"] == 55

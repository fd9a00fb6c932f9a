"""End to end: configure() + instrument() in a real process, OTLP over gRPC and HTTP, read back from Phoenix."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests.integration.conftest import Phoenix

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.integration


def _run(module_or_script: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(module_or_script, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False)


@pytest.mark.parametrize("protocol", ["grpc", "http/protobuf"])
def test_span_tree_tags_metadata_and_tokens_arrive(phoenix: Phoenix, protocol: str) -> None:
    marker = f"e2e-{uuid.uuid4().hex[:12]}"
    # The endpoint means what OTEL_EXPORTER_OTLP_ENDPOINT means: a base URL, /v1/traces added for HTTP.
    endpoint = phoenix.grpc_endpoint if protocol == "grpc" else phoenix.base_url
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "LC_OTEL_"))}
    done = _run([sys.executable, "-m", "tests.integration.export_app", marker, endpoint, protocol], env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "Blue."

    spans = phoenix.wait_for(4, **{"langchain.metadata.marker": marker})
    by_name = {span["name"]: span for span in spans}
    assert sorted(by_name) == ["StrOutputParser", "chat fake-model-1", "e2e_chain", "prepare"], by_name
    assert len(spans) == 4  # one span per run, no duplicate
    root = by_name["e2e_chain"]
    assert root["parent_id"] is None
    for name in ("prepare", "chat fake-model-1", "StrOutputParser"):
        assert by_name[name]["parent_id"] == root["context"]["span_id"], name
    assert {span["context"]["trace_id"] for span in spans} == {root["context"]["trace_id"]}

    # Jaeger-style tag search: a bool attribute per tag, found by value and type.
    tagged = phoenix.spans(**{"langchain.tag.production": True, "langchain.metadata.marker": marker})
    assert "e2e_chain" in {span["name"] for span in tagged}
    assert phoenix.spans(**{"langchain.tag.production": "true", "langchain.metadata.marker": marker}) == []
    assert sorted(root["attributes"]["langchain.tags"]) == ["e2e", "production"]

    assert root["attributes"]["langchain.metadata.user_id"] == "u-42"
    assert root["attributes"]["langchain.metadata.attempt"] == 3

    chat = by_name["chat fake-model-1"]["attributes"]
    assert chat["gen_ai.usage.input_tokens"] == 11
    assert chat["gen_ai.usage.output_tokens"] == 7
    assert chat["gen_ai.request.model"] == "fake-model-1"
    assert root["attributes"]["langchain.usage.total_tokens"] == 18


def test_opentelemetry_instrument_traces_an_unchanged_app(phoenix: Phoenix) -> None:
    """``opentelemetry-instrument python examples/app.py`` with the standard variables, no code change."""
    thing = f"sky-{uuid.uuid4().hex[:12]}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "LC_OTEL_"))}
    env.update(
        OTEL_SERVICE_NAME="lc-otel-example",
        OTEL_EXPORTER_OTLP_ENDPOINT=phoenix.base_url,
        OTEL_EXPORTER_OTLP_PROTOCOL="http/protobuf",
    )
    instrument = str(Path(sys.executable).with_name("opentelemetry-instrument"))
    done = _run([instrument, sys.executable, "examples/app.py", thing], env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"{thing} -> Blue."

    spans = phoenix.wait_for(4, **{"langchain.metadata.thing": thing})
    names = sorted(span["name"] for span in spans)
    assert names == ["ChatPromptTemplate", "StrOutputParser", "chat", "colour_chain"], names
    root = next(span for span in spans if span["name"] == "colour_chain")
    assert root["parent_id"] is None
    assert all(span["parent_id"] == root["context"]["span_id"] for span in spans if span is not root)
    assert root["attributes"]["langchain.tag.example"] is True

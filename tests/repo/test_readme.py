"""The README's quickstart runs as written, against a local OpenAI-compatible server, and traces what it says."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from tests.support.openai_server import OpenAIServer, openai_usage

README = Path(__file__).resolve().parents[2] / "README.md"


def quickstart() -> str:
    """The first Python block under '## Quickstart'."""
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## Quickstart") :]
    match = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert match is not None
    return match.group(1)


def test_quickstart_is_at_most_ten_lines():
    """The quickstart stays a quickstart."""
    lines = [line for line in quickstart().splitlines() if line.strip()]
    assert len(lines) <= 10


def test_quickstart_runs_and_traces(tmp_path: Path):
    """Run the quickstart in a fresh interpreter; its spans land in the embedded default file as described."""
    spans_file = tmp_path / "spans.jsonl"
    with OpenAIServer(content="Rayleigh scattering.", usage=openai_usage(12, 3)) as server:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "LC_OTEL_", "OPENAI_"))}
        env.update(
            OPENAI_BASE_URL=server.base_url,
            OPENAI_API_KEY="sk-readme-test-key-0000",
            LC_OTEL_EXPORT_FILE=str(spans_file),
        )
        code = quickstart()  # no explicit flush: configure() flushes at interpreter exit
        done = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120, check=False
        )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    spans = {}
    for line in spans_file.read_text(encoding="utf-8").splitlines():
        for resource_spans in json.loads(line)["resourceSpans"]:
            for scope_spans in resource_spans["scopeSpans"]:
                for span in scope_spans["spans"]:
                    attrs = {a["key"]: a["value"] for a in span.get("attributes", [])}
                    spans[span["name"]] = attrs
    assert set(spans) == {"RunnableSequence", "ChatPromptTemplate", "chat gpt-4o-mini", "StrOutputParser"}
    for attrs in spans.values():
        assert attrs["langchain.tag.production"] == {"boolValue": True}
        assert attrs["langchain.metadata.user_id"] == {"stringValue": "u-42"}
    chat = spans["chat gpt-4o-mini"]
    assert chat["gen_ai.usage.input_tokens"] == {"intValue": "12"}
    assert chat["gen_ai.usage.output_tokens"] == {"intValue": "3"}
    assert "sk-readme-test-key" not in spans_file.read_text(encoding="utf-8")


def test_the_configuration_table_lists_every_variable_the_code_reads() -> None:
    """Each ``LC_OTEL_*`` / ``OTEL_*`` name the package's source spells out is in the README's Configuration table."""
    source = README.parent / "src" / "lc_otel"
    read: set[str] = set()
    for path in source.rglob("*.py"):
        read.update(re.findall(r"\"((?:LC_OTEL|OTEL)_[A-Z_]+)\"", path.read_text(encoding="utf-8")))
    read -= {"OTEL_ENABLED", "OTEL_ONLY"}  # suffixes of LangSmith's LANGSMITH_/LANGCHAIN_ switches
    assert "LC_OTEL_ENDPOINT" in read  # the walk found the package
    configuration = README.read_text(encoding="utf-8").split("## Configuration")[1]
    documented = set(re.findall(r"`((?:LC_OTEL|OTEL)_[A-Z_]+)`", configuration))
    assert sorted(read - documented) == []

"""The package as users get it: the sdist and wheel built, the wheel installed without extras into fresh venvs
on the oldest and the newest supported Python, and run from there.

``lc-otel demo`` must print its trace tree and write the OTLP-JSON-lines file (the embedded default, with no
extra installed), ``lc-otel traces --file`` must read it back, and a small traced chain must land in the file
with its span tree. The venvs are made with uv (``scripts/uv.sh``) from the built wheel, its dependencies held
to ``requirements/dev.lock``; the interpreters come from ``scripts/find-python.sh``: with ``CI=true`` a missing
one fails, elsewhere these tests skip and say why.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from lc_otel._cli.traces.file import read_spans_file

ROOT = Path(__file__).resolve().parents[2]
OLDEST_AND_NEWEST = ("3.10", "3.13")
_UV = str(ROOT / "scripts" / "uv.sh")
_TIMEOUT = 600  # seconds for one build or install: a generous bound on a stall, not a speed check


def _run(args: list[str], *, cwd: Path = ROOT, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=_TIMEOUT, check=False)


def _checked(
    args: list[str], *, cwd: Path = ROOT, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    result = _run(args, cwd=cwd, env=env)
    assert result.returncode == 0, f"{args} exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
    return result


def _clean_env() -> dict[str, str]:
    """The environment of a user's shell: none of the test run's OpenTelemetry or lc-otel settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "LC_OTEL_", "PYTHON", "VIRTUAL_ENV"))}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def _interpreter(version: str) -> str:
    found = _run([str(ROOT / "scripts" / "find-python.sh"), version])
    if found.returncode == 3:
        pytest.skip(f"CPython {version} is not installed here (CI=true fails instead): {found.stderr.strip()}")
    assert found.returncode == 0, found.stderr
    return found.stdout.strip()


@pytest.fixture(scope="module", name="dist")
def _dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sdist and the wheel, the wheel built from the sdist (so the sdist is checked complete too)."""
    out = tmp_path_factory.mktemp("dist")
    constraint = str(ROOT / "requirements" / "build.lock")
    _checked([_UV, "build", "--quiet", "--out-dir", str(out), "--build-constraint", constraint, str(ROOT)])
    return out


def _wheel(dist: Path) -> Path:
    wheels = sorted(dist.glob("lc_otel-*.whl"))
    assert len(wheels) == 1, f"expected one wheel, found {wheels}"
    return wheels[0]


def test_the_sdist_and_the_wheel_are_built(dist: Path) -> None:
    assert len(sorted(dist.glob("lc_otel-*.tar.gz"))) == 1
    assert _wheel(dist).name.endswith("-py3-none-any.whl")


def test_the_wheel_holds_py_typed_and_no_tests(dist: Path) -> None:
    with zipfile.ZipFile(_wheel(dist)) as wheel:
        names = wheel.namelist()
        metadata = next(wheel.read(n).decode() for n in names if n.endswith(".dist-info/METADATA"))
        entry_points = next(wheel.read(n).decode() for n in names if n.endswith(".dist-info/entry_points.txt"))
    assert "lc_otel/py.typed" in names
    assert "lc_otel/__init__.py" in names
    test_files = [n for n in names if n.startswith("tests/") or "/tests/" in n or Path(n).name.startswith("test_")]
    assert test_files == []
    assert [n for n in names if Path(n).name == "conftest.py"] == []
    assert "lc-otel = lc_otel.cli:main" in entry_points
    # The embedded default needs no extra: the file exporter package is required by no plain install.
    plain = [line for line in metadata.splitlines() if line.startswith("Requires-Dist:") and "extra ==" not in line]
    assert not [line for line in plain if "otlp-json" in line], plain
    assert any("opentelemetry-exporter-otlp-proto-common" in line for line in plain), plain


@pytest.fixture(scope="module", params=OLDEST_AND_NEWEST, name="venv")
def _venv(request: pytest.FixtureRequest, dist: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with the wheel installed, no extras: what ``pip install lc-otel`` gives a user."""
    python = _interpreter(request.param)
    venv = tmp_path_factory.mktemp(f"venv{request.param}") / "venv"
    _checked([_UV, "venv", "--quiet", "--python", python, str(venv)])
    lock = str(ROOT / "requirements" / "dev.lock")
    python_in_venv = str(venv / "bin" / "python")
    _checked([_UV, "pip", "install", "--quiet", "--python", python_in_venv, "-c", lock, str(_wheel(dist))])
    return venv


def test_the_plain_install_has_no_file_exporter_package(venv: Path) -> None:
    probe = "import importlib.util as u; print(u.find_spec('opentelemetry.exporter.otlp.json') is None)"
    result = _checked([str(venv / "bin" / "python"), "-c", probe], env=_clean_env())
    assert result.stdout.strip() == "True"


def test_lc_otel_demo_prints_the_tree_and_writes_the_file(venv: Path, tmp_path: Path) -> None:
    demo = _run([str(venv / "bin" / "lc-otel"), "demo"], cwd=tmp_path, env=_clean_env())
    assert demo.returncode == 0, demo.stdout + demo.stderr
    assert "Traceback" not in demo.stderr
    assert "office-assistant" in demo.stdout
    assert "└─" in demo.stdout
    assert "Spans written to lc-otel-spans.jsonl (OTLP JSON lines)." in demo.stdout

    lines = (tmp_path / "lc-otel-spans.jsonl").read_text(encoding="utf-8").splitlines()
    assert lines
    for line in lines:  # OTLP/JSON: hex ids, one ExportTraceServiceRequest per line
        for resource_spans in json.loads(line)["resourceSpans"]:
            for scope_spans in resource_spans["scopeSpans"]:
                for span in scope_spans["spans"]:
                    assert len(span["traceId"]) == 32
                    assert int(span["traceId"], 16)
                    assert len(span["spanId"]) == 16
                    assert int(span["spanId"], 16)

    spans = read_spans_file(tmp_path / "lc-otel-spans.jsonl").spans
    assert len(spans) == 10
    assert len({s.trace_id for s in spans}) == 1
    [root] = [s for s in spans if s.parent_id is None]
    assert root.name == "office-assistant"

    found = _run(
        [str(venv / "bin" / "lc-otel"), "traces", "--file", "lc-otel-spans.jsonl", "--tag", "demo"],
        cwd=tmp_path,
        env=_clean_env(),
    )
    assert found.returncode == 0, found.stdout + found.stderr
    assert f"trace {root.trace_id}" in found.stdout
    assert "office-assistant" in found.stdout


_CHAIN = """
import lc_otel
from langchain_core.runnables import RunnableLambda

lc_otel.configure(service_name="wheel-check")
lc_otel.instrument()
chain = RunnableLambda(lambda x: x + 1, name="add_one") | RunnableLambda(lambda x: x * 2, name="double")
print(chain.invoke(1, {"run_name": "wheel-chain", "tags": ["wheel"]}))
"""


def test_a_traced_chain_lands_in_the_embedded_default_file(venv: Path, tmp_path: Path) -> None:
    script = tmp_path / "chain.py"
    script.write_text(_CHAIN, encoding="utf-8")
    result = _run([str(venv / "bin" / "python"), str(script)], cwd=tmp_path, env=_clean_env())
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == "4"
    assert result.stderr == ""

    spans = read_spans_file(tmp_path / "lc-otel-spans.jsonl").spans
    by_name = {s.name: s for s in spans}
    assert sorted(by_name) == ["add_one", "double", "wheel-chain"]
    root = by_name["wheel-chain"]
    assert root.parent_id is None
    assert by_name["add_one"].parent_id == root.span_id
    assert by_name["double"].parent_id == root.span_id
    assert {s.trace_id for s in spans} == {root.trace_id}
    assert root.resource["service.name"] == "wheel-check"
    assert root.attributes["langchain.tag.wheel"] is True


def test_the_interpreters_are_the_ones_asked_for(venv: Path) -> None:
    version = _checked([str(venv / "bin" / "python"), "-c", "import sys; print(sys.version_info[:2])"]).stdout
    assert version.strip() in {"(3, 10)", "(3, 13)"}
    assert sys.version_info >= (3, 10)

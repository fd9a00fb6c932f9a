"""The real OTLP backend for integration tests: Arize Phoenix, started by ``scripts/with-backend.sh``.

Without it the tests skip, except with ``CI=true``, where a missing backend fails them: CI must not go
green without exporting a single span.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, NoReturn

import pytest

PROJECT = "default"  # spans without an ``openinference.project.name`` resource attribute land here


def _missing_backend(what: str) -> NoReturn:
    message = f"{what} is not set: run the tests with scripts/with-backend.sh (make test)"
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true and no OTLP backend: {message}")
    pytest.skip(message)


@dataclasses.dataclass(frozen=True)
class Phoenix:
    """A running Phoenix: where to export and how to read spans back through its REST API."""

    base_url: str  # REST API and OTLP/HTTP
    grpc_endpoint: str

    def spans(
        self, trace_ids: Iterable[str] = (), names: Iterable[str] = (), **attributes: Any
    ) -> list[dict[str, Any]]:
        """Spans whose attributes equal all of ``attributes`` (type-aware: ``True`` matches only a bool).

        ``trace_ids`` and ``names`` narrow the search to those traces and span names (the filtering is
        Phoenix's, so a poll stays cheap for it). Every page is read: one page holds at most 1,000 spans,
        newest first, and the session's one Phoenix holds the spans of every test.
        """
        query = [("limit", "1000")] + [("attribute", f"{k}:{json.dumps(v)}") for k, v in attributes.items()]
        query += [("trace_id", trace_id) for trace_id in trace_ids] + [("name", name) for name in names]
        found: list[dict[str, Any]] = []
        cursor: str | None = None
        while True:
            page = [*query, ("cursor", cursor)] if cursor else query
            url = f"{self.base_url}/v1/projects/{PROJECT}/spans?{urllib.parse.urlencode(page)}"
            try:
                with urllib.request.urlopen(url, timeout=10) as response:
                    body: dict[str, Any] = json.load(response)
            except urllib.error.HTTPError as error:
                if error.code == 404:  # the project exists once its first span is stored
                    return []
                raise
            found += body["data"]
            cursor = body.get("next_cursor")
            if not cursor:
                return found

    def wait_for(
        self, count: int, timeout: float = 20.0, nudge: Callable[[], object] | None = None, **attributes: Any
    ) -> list[dict[str, Any]]:
        """Poll until at least ``count`` spans match (Phoenix stores them asynchronously)."""
        deadline = time.monotonic() + timeout
        found = self.spans(**attributes)
        while len(found) < count and time.monotonic() < deadline:
            if nudge is not None:
                nudge()
            time.sleep(0.25)
            found = self.spans(**attributes)
        return found

    def healthy(self) -> bool:
        """Whether ``/healthz`` answers."""
        try:
            with urllib.request.urlopen(f"{self.base_url}/healthz", timeout=2) as response:
                return response.status == 200
        except OSError:
            return False


@pytest.fixture(scope="session", name="phoenix")
def _phoenix() -> Phoenix:
    """The Phoenix that ``scripts/with-backend.sh`` started."""
    url = os.environ.get("LC_OTEL_IT_PHOENIX_URL")
    grpc = os.environ.get("LC_OTEL_IT_GRPC_ENDPOINT")
    if not url or not grpc:
        _missing_backend("LC_OTEL_IT_PHOENIX_URL")
    return Phoenix(base_url=url, grpc_endpoint=grpc)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class PhoenixProcess:
    """A Phoenix of the test's own, on free loopback ports, that the test stops, pauses and restarts."""

    def __init__(self, binary: str, workdir: Path) -> None:
        self._binary = binary
        self._workdir = workdir
        self._proc: subprocess.Popen[bytes] | None = None
        http_port, grpc_port = _free_port(), _free_port()
        self.api = Phoenix(base_url=f"http://127.0.0.1:{http_port}", grpc_endpoint=f"http://127.0.0.1:{grpc_port}")
        self._env = {
            **os.environ,
            "PHOENIX_WORKING_DIR": str(workdir),
            "PHOENIX_HOST": "127.0.0.1",
            "PHOENIX_PORT": str(http_port),
            "PHOENIX_GRPC_PORT": str(grpc_port),
            "PHOENIX_TELEMETRY_ENABLED": "false",
        }

    def start(self, timeout: float = 90.0) -> float:
        """Start it and wait until it is ready; return the seconds that took."""
        began = time.monotonic()
        log = (self._workdir / "phoenix.log").open("ab")
        self._proc = subprocess.Popen([self._binary, "serve"], env=self._env, stdout=log, stderr=log)
        log.close()
        while not self.api.healthy():
            if self._proc.poll() is not None or time.monotonic() - began > timeout:
                tail = (self._workdir / "phoenix.log").read_text(errors="replace")[-3000:]
                raise RuntimeError(f"Phoenix did not start:\n{tail}")
            time.sleep(0.2)
        return time.monotonic() - began

    def stop(self) -> None:
        """Stop it (SIGTERM, then SIGKILL)."""
        if self._proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            self._proc.send_signal(signal.SIGCONT)  # a paused process cannot handle SIGTERM
        self._proc.terminate()
        try:
            self._proc.wait(15)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait(5)
        self._proc = None

    def pause(self) -> None:
        """Freeze it: connections are accepted by the kernel but never answered (a hanging backend)."""
        assert self._proc is not None
        self._proc.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        """Unfreeze it."""
        assert self._proc is not None
        self._proc.send_signal(signal.SIGCONT)


@pytest.fixture(name="own_phoenix")
def _own_phoenix() -> Iterator[PhoenixProcess]:
    """A Phoenix process of the test's own (not started yet); stopped after the test."""
    binary = os.environ.get("LC_OTEL_IT_PHOENIX_BIN")
    if not binary:
        _missing_backend("LC_OTEL_IT_PHOENIX_BIN")
    with tempfile.TemporaryDirectory(prefix="lc-otel-phoenix-") as workdir:
        process = PhoenixProcess(binary, Path(workdir))
        try:
            yield process
        finally:
            process.stop()

"""Local servers that misbehave on purpose, for the hostile-server rows of ``lc-otel traces``.

:class:`RawServer` speaks raw TCP on 127.0.0.1, so it can send what no HTTP library would (a cut body, a bad
status line, a header of 100 kB, one byte every two seconds, an endless body). Each connection runs a script
in its own thread; the server counts every byte it sent and stops by itself: a script never runs longer than
the server's ``lifetime``, and leaving the ``with`` block stops the scripts and joins their threads.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import Final

SAFETY_LIFETIME: Final = 20.0
"""Seconds after which every script stops, whatever the client does."""


class Connection:
    """One accepted connection, as a script sees it."""

    def __init__(self, sock: socket.socket, server: RawServer) -> None:
        self.sock = sock
        self.server = server
        self.request = b""

    def stopped(self) -> bool:
        """Whether the server is shutting down or its lifetime is over."""
        return self.server.stop.is_set() or time.monotonic() > self.server.end

    def read_request(self) -> bytes:
        """Read the request head (up to the blank line); the client then waits for the answer."""
        while b"\r\n\r\n" not in self.request and not self.stopped():
            try:
                chunk = self.sock.recv(65536)
            except TimeoutError:
                continue
            if not chunk:
                break
            self.request += chunk
        return self.request

    def send(self, data: bytes) -> bool:
        """Send ``data``; ``False`` once the client has gone away or the server stops."""
        if self.stopped():
            return False
        view = memoryview(data)
        while view:
            try:
                sent = self.sock.send(view)
            except TimeoutError:
                if self.stopped():
                    return False
                continue
            except OSError:
                return False
            with self.server.lock:
                self.server.bytes_sent += sent
            view = view[sent:]
        return True

    def pause(self, seconds: float) -> bool:
        """Wait; ``False`` when the server stops meanwhile."""
        return not self.server.stop.wait(seconds) and not self.stopped()

    def client_closed(self) -> bool:
        """Whether the client closed its end (a zero-byte read or a reset)."""
        try:
            self.sock.settimeout(0.05)
            return self.sock.recv(1) == b""
        except TimeoutError:
            return False
        except OSError:
            return True
        finally:
            self.sock.settimeout(0.2)


Script = Callable[[Connection], None]


class RawServer:
    """Runs ``script`` for every connection to ``url``."""

    def __init__(self, script: Script, *, lifetime: float = SAFETY_LIFETIME) -> None:
        self.script = script
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.05)
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.end = time.monotonic() + lifetime
        self.bytes_sent = 0
        self.connections = 0
        self.closed_by_client = threading.Event()
        self._threads: list[threading.Thread] = []
        self._acceptor = threading.Thread(target=self._accept, daemon=True)

    def __enter__(self) -> RawServer:
        self._acceptor.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop.set()
        self._acceptor.join()
        for thread in self._threads:
            thread.join()
        self.listener.close()

    def _accept(self) -> None:
        while not self.stop.is_set() and time.monotonic() < self.end:
            try:
                sock, _ = self.listener.accept()
            except TimeoutError:
                continue
            self.connections += 1
            thread = threading.Thread(target=self._serve, args=(sock,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _serve(self, sock: socket.socket) -> None:
        sock.settimeout(0.2)
        try:
            self.script(Connection(sock, self))
        finally:
            sock.close()


def answer(status: str, headers: dict[str, str], body: bytes, *, length: int | None = None) -> Script:
    """A script that sends one answer and closes; ``length`` overrides the Content-Length header."""

    def script(conn: Connection) -> None:
        conn.read_request()
        head = [f"HTTP/1.1 {status}", *(f"{k}: {v}" for k, v in headers.items())]
        head.append(f"Content-Length: {len(body) if length is None else length}")
        conn.send(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body)

    return script

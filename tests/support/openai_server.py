"""A local OpenAI-compatible chat-completions server, for driving the real ``ChatOpenAI`` client offline.

It answers ``POST /v1/chat/completions`` with a scripted reply, as one JSON body or as a server-sent-event
stream (with the usage chunk when the request asks for it with ``stream_options.include_usage``), and
records every request it got, headers included, so tests can prove what the client sent.

Usage::

    with OpenAIServer(content="Hello there", usage=openai_usage(11, 2)) as server:
        model = ChatOpenAI(model="gpt-test", base_url=server.base_url, api_key="sk-test", max_retries=0)
"""

from __future__ import annotations

import dataclasses
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any


def openai_usage(
    prompt_tokens: int, completion_tokens: int, *, cached_tokens: int = 0, reasoning_tokens: int = 0
) -> dict[str, Any]:
    """OpenAI's wire-format ``usage`` object."""
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
        "prompt_tokens_details": {"cached_tokens": cached_tokens},
        "completion_tokens_details": {"reasoning_tokens": reasoning_tokens},
    }


@dataclasses.dataclass(frozen=True)
class RecordedRequest:
    """One request the server received."""

    method: str
    path: str
    headers: dict[str, str]
    """Header names in lower case."""
    body: Any
    """The JSON body, or the raw text when it is not JSON."""


@dataclasses.dataclass
class OpenAIServer:
    """A loopback chat-completions server with one scripted answer (fields may change between calls)."""

    content: str = "Hello there"
    response_model: str = "gpt-test-2025-01-01"
    response_id: str = "chatcmpl-test-1"
    finish_reason: str | None = "stop"
    """``None``: the reply reports none (``"finish_reason": null``)."""
    usage: dict[str, Any] = dataclasses.field(default_factory=lambda: openai_usage(11, 2))
    status: int = 200
    """HTTP status to answer with; anything but 200 sends an OpenAI-style error body."""
    tool_calls: list[dict[str, Any]] | None = None
    """Wire-format tool calls (``{"id", "type": "function", "function": {"name", "arguments"}}``) to reply with."""
    function_call: dict[str, Any] | None = None
    """A legacy ``{"name", "arguments"}`` function call to reply with instead of content."""
    fail_stream_after: int | None = None
    """Stream only this many content chunks, then an error event (a stream broken midway)."""
    requests: list[RecordedRequest] = dataclasses.field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        """The ``base_url`` to give ``ChatOpenAI``."""
        assert self._httpd is not None, "server not started"
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def start(self) -> OpenAIServer:
        """Listen on 127.0.0.1, on a free port, in a daemon thread."""
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, args=(0.05,), name="openai-server", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening and wait for the serving thread."""
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd = self._thread = None

    def __enter__(self) -> OpenAIServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)

    # --- response bodies ----------------------------------------------------------------------------

    def message(self) -> dict[str, Any]:
        """The assistant message of one choice."""
        message: dict[str, Any] = {"role": "assistant", "content": self.content}
        if self.tool_calls is not None:
            message["tool_calls"] = self.tool_calls
            message["content"] = self.content or None
        if self.function_call is not None:
            message["function_call"] = self.function_call
            message["content"] = None
        return message

    def completion(self, choices: int = 1) -> dict[str, Any]:
        """The non-streaming ``chat.completion`` body, with ``choices`` choices (the request's ``n``)."""
        return {
            "id": self.response_id,
            "object": "chat.completion",
            "created": 1,
            "model": self.response_model,
            "system_fingerprint": "fp_test",
            "choices": [
                {"index": index, "message": self.message(), "finish_reason": self.finish_reason, "logprobs": None}
                for index in range(choices)
            ],
            "usage": self.usage,  # one usage for the whole response, whatever the number of choices
        }

    def chunks(self, include_usage: bool) -> list[dict[str, Any]]:
        """The ``chat.completion.chunk`` objects of a stream: role, one per word, finish, then usage."""

        def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
            return {
                "id": self.response_id,
                "object": "chat.completion.chunk",
                "created": 1,
                "model": self.response_model,
                "system_fingerprint": "fp_test",
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}],
                "usage": None,
            }

        pieces = [p for p in re.split(r"(\s+)", self.content) if p]
        out = [chunk({"role": "assistant", "content": ""})]
        out.extend(chunk({"content": piece}) for piece in pieces)
        if self.fail_stream_after is not None:
            del out[self.fail_stream_after + 1 :]
            out.append({"error": {"message": "stream broken", "type": "server_error", "code": "test"}})
            return out
        out.append(chunk({}, self.finish_reason))
        if include_usage:
            last = chunk({})
            last["choices"] = []
            last["usage"] = self.usage
            out.append(last)
        return out


def _handler_for(server: OpenAIServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        # HTTP/1.0: one request per connection, and the end of a stream is the end of the connection.
        protocol_version = "HTTP/1.0"

        def log_message(self, format: str, *args: Any) -> None:
            """Keep test output quiet."""

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length).decode("utf-8", "replace")
            try:
                body: Any = json.loads(raw)
            except ValueError:
                body = raw
            server._record(RecordedRequest("POST", self.path, {k.lower(): v for k, v in self.headers.items()}, body))
            if not self.path.rstrip("/").endswith("/chat/completions"):
                self._json(404, {"error": {"message": "not found", "type": "invalid_request_error"}})
                return
            if server.status != 200:
                error = {"message": "scripted failure", "type": "server_error", "code": "test"}
                self._json(server.status, {"error": error})
                return
            if isinstance(body, dict) and body.get("stream"):
                options = body.get("stream_options") or {}
                self._stream(server.chunks(bool(options.get("include_usage"))))
            else:
                choices = body.get("n") if isinstance(body, dict) else None
                self._json(200, server.completion(choices if isinstance(choices, int) and choices > 0 else 1))

        def _json(self, status: int, payload: dict[str, Any]) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _stream(self, chunks: list[dict[str, Any]]) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-cache")
            self.end_headers()
            for item in chunks:
                self.wfile.write(f"data: {json.dumps(item)}\n\n".encode())
                self.wfile.flush()
            self.wfile.write(b"data: [DONE]\n\n")
            self.wfile.flush()

    return Handler

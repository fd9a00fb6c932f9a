"""A local OTLP/HTTP trace sink: accepts ``POST /v1/traces``, counts spans, answers success.

It runs in the benchmark driver's process, so the worker being measured pays for encoding and sending spans
(the export cost) but not for receiving them.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)


class _Handler(BaseHTTPRequestHandler):
    server: OtlpSink

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        if self.path != "/v1/traces":
            self.send_error(404)
            return
        request = ExportTraceServiceRequest()
        request.ParseFromString(body)
        spans = sum(len(scope.spans) for resource in request.resource_spans for scope in resource.scope_spans)
        with self.server.lock:
            self.server.spans += spans
            self.server.requests += 1
        reply = ExportTraceServiceResponse().SerializeToString()
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet: one line per export would drown the report."""


class OtlpSink(ThreadingHTTPServer):
    """The sink server, bound to a free loopback port; ``endpoint`` is the URL to export to."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.lock = threading.Lock()
        self.spans = 0
        self.requests = 0
        self._thread = threading.Thread(target=self.serve_forever, name="otlp-sink", daemon=True)

    @property
    def endpoint(self) -> str:
        """The traces URL workers export to."""
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}/v1/traces"

    def __enter__(self) -> OtlpSink:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
        self.server_close()

"""Search Jaeger over its HTTP query API, with the standard library only.

The v3 API (``GET /api/v3/traces``, OTLP-JSON answers) is asked first. A server older than Jaeger 2.19
rejects its camelCase time-window names, and a v1 server has no v3 route; either way the v1 search
(``GET /api/traces``) is used instead. Parameter names, units and encodings are those Jaeger's handlers
parse: v3 times in RFC 3339, v1 times in Unix microseconds, attribute filters as a JSON map of strings.

The server may be anything (a proxy, a misconfigured host): the requests are bounded (:mod:`lc_otel._cli.http`)
and whatever the answer holds ends in spans or in a one-line :class:`JaegerError`.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import time
import urllib.parse
from collections.abc import Callable
from typing import Any, Final

from lc_otel._cli.http import (
    DEFAULT_MAX_BYTES,
    DEFAULT_TIMEOUT_SECONDS,
    FetchError,
    Reply,
    check_url,
    display_url,
    fetch,
)
from lc_otel._cli.terminal import MESSAGE_LIMIT, printable, shorten
from lc_otel._cli.traces.jaeger_v1 import parse_v1_response
from lc_otel._cli.traces.model import Span
from lc_otel._cli.traces.otlp_json import FormatError, parse_traces_data
from lc_otel._cli.traces.query import Query

DEFAULT_JAEGER_URL: Final = "http://localhost:16686"
DEFAULT_LOOKBACK_SECONDS: Final = 48 * 3600.0
"""Jaeger's own default search window (``defaultTraceQueryLookbackDuration``)."""


class JaegerError(Exception):
    """A search failed; the message is one printable line for the user."""


def _rfc3339(nanos: int) -> str:
    moment = datetime.datetime.fromtimestamp(nanos // 1_000_000_000, tz=datetime.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + f".{nanos % 1_000_000_000:09d}Z"


def _window(query: Query, now_ns: int) -> tuple[int, int]:
    lookback = query.since_seconds if query.since_seconds is not None else DEFAULT_LOOKBACK_SECONDS
    # No earlier than 1970: a --since of centuries means "everything", not a date the clock cannot show.
    return now_ns - int(min(lookback * 1e9, now_ns)), now_ns


def v3_params(query: Query, *, now_ns: int) -> list[tuple[str, str]]:
    """The query string of ``GET /api/v3/traces`` (Jaeger 2.19+ names)."""
    start, end = _window(query, now_ns)
    params: list[tuple[str, str]] = []
    if query.service:
        params.append(("query.serviceName", query.service))
    params += [
        ("query.startTimeMin", _rfc3339(start)),
        ("query.startTimeMax", _rfc3339(end)),
        ("query.searchDepth", str(query.limit)),
    ]
    attributes = query.server_attributes()
    if attributes:
        params.append(("query.attributes", json.dumps(attributes, separators=(",", ":"))))
    return params


def v1_params(query: Query, *, now_ns: int) -> list[tuple[str, str]]:
    """The query string of ``GET /api/traces``.

    Raises:
        JaegerError: No service was given; the v1 search requires one.
    """
    if not query.service:
        raise JaegerError("this Jaeger server only offers the v1 search API, which needs --service")
    start, end = _window(query, now_ns)
    params = [("service", query.service)]
    attributes = query.server_attributes()
    if attributes:
        params.append(("tags", json.dumps(attributes, separators=(",", ":"))))
    params += [
        ("start", str(start // 1000)),
        ("end", str(end // 1000)),
        ("limit", str(query.limit)),
    ]
    return params


@dataclasses.dataclass(frozen=True)
class Limits:
    """Bounds on one search, both API attempts together."""

    timeout: float = DEFAULT_TIMEOUT_SECONDS
    """Seconds for the whole search (``--timeout``)."""
    max_bytes: int = DEFAULT_MAX_BYTES
    """Largest answer read (``--max-bytes``)."""


class _Session:
    """One search's base URL, shown without credentials, and its one deadline for every request."""

    def __init__(self, base_url: str, limits: Limits) -> None:
        try:
            self.base_url = check_url(base_url).rstrip("/")
        except ValueError as exc:
            raise JaegerError(str(exc)) from None
        self.shown = display_url(self.base_url)
        self.limits = limits
        self._end = time.monotonic() + limits.timeout

    def get(self, path: str, params: list[tuple[str, str]]) -> Reply:
        url = self.base_url + path + "?" + urllib.parse.urlencode(params)
        remaining = self._end - time.monotonic()
        if remaining <= 0:
            raise self._timed_out()
        try:
            return fetch(
                url,
                name=f"Jaeger at {self.shown}",
                headers={"Accept": "application/json"},
                timeout=remaining,
                max_bytes=self.limits.max_bytes,
            )
        except FetchError as exc:
            raise (self._timed_out() if exc.timed_out else JaegerError(str(exc))) from None

    def _timed_out(self) -> JaegerError:
        return JaegerError(
            f"no complete answer from Jaeger at {self.shown} within {self.limits.timeout:g} s (--timeout)"
        )


def _json(body: bytes) -> Any:
    try:
        return json.loads(body.decode("utf-8"))
    except (ValueError, RecursionError):  # not UTF-8, not JSON, nested too deep, an integer of 5,000 digits
        return None


def _v3_error_message(payload: Any) -> str | None:
    if isinstance(payload, dict) and isinstance(payload.get("error"), dict):
        message = payload["error"].get("message")
        return shorten(str(message)) if message is not None else None
    return None


def _v1_error_message(payload: Any) -> str | None:
    if isinstance(payload, dict) and isinstance(payload.get("errors"), list) and payload["errors"]:
        first = payload["errors"][0]
        return shorten(str(first.get("msg") if isinstance(first, dict) else first))
    return None


def _excerpt(body: bytes) -> str:
    # The first line of what the server said, for a proxy's HTML page or a plain-text error.
    head = body[: 8 * MESSAGE_LIMIT].decode("utf-8", "replace").strip()
    line = head.splitlines()[0] if head else ""
    if not line:
        return "(empty body)"
    cut = len(line) > MESSAGE_LIMIT or len(body) > len(line.encode("utf-8", "replace"))
    return printable(line[:MESSAGE_LIMIT]) + ("..." if cut and len(line) > MESSAGE_LIMIT else "")


def search_jaeger(base_url: str, query: Query, *, now_ns: int, limits: Limits | None = None) -> list[Span]:
    """Every span of the traces Jaeger finds for ``query`` (whole traces, as Jaeger returns them).

    Raises:
        JaegerError: The URL is not an http(s) URL, the server cannot be reached, refused the search or sent
            something that is not a search answer, or the limits were reached.
    """
    session = _Session(base_url, limits or Limits())
    reply = session.get("/api/v3/traces", v3_params(query, now_ns=now_ns))
    payload = _json(reply.body)
    message = _v3_error_message(payload)
    if reply.status == 200 and isinstance(payload, dict):
        return _parse(session, "/api/v3/traces", lambda: parse_traces_data(payload.get("result") or _NO_SPANS))
    if reply.status == 404 and message is not None:
        return []  # Jaeger answers a search without hits with 404 "No traces found".
    too_old = reply.status == 400 and message is not None and "start_time_min" in message
    no_v3 = reply.status == 404 and payload is None
    if too_old or no_v3:
        return _search_v1(session, query, now_ns=now_ns)
    raise _refused(session, reply, message)


_NO_SPANS: Final[dict[str, list[Any]]] = {"resourceSpans": []}


def _search_v1(session: _Session, query: Query, *, now_ns: int) -> list[Span]:
    reply = session.get("/api/traces", v1_params(query, now_ns=now_ns))
    payload = _json(reply.body)
    if reply.status == 200 and isinstance(payload, dict):
        return _parse(session, "/api/traces", lambda: parse_v1_response(payload))
    if reply.status == 404 and payload is None:
        raise JaegerError(f"{session.shown} does not look like a Jaeger query service (no search API found)")
    raise _refused(session, reply, _v1_error_message(payload))


def _parse(session: _Session, path: str, parse: Callable[[], list[Span]]) -> list[Span]:
    try:
        return parse()
    except (FormatError, RecursionError) as exc:
        reason = shorten(str(exc)) if isinstance(exc, FormatError) else "nested too deeply"
        raise JaegerError(f"unexpected answer from {session.shown}{path}: {reason}") from None


def _refused(session: _Session, reply: Reply, message: str | None) -> JaegerError:
    if reply.status == 200:
        return JaegerError(
            f"unexpected answer from {session.shown}: not JSON, or nested too deeply ({_excerpt(reply.body)})"
        )
    detail = message or _excerpt(reply.body)
    return JaegerError(f"Jaeger at {session.shown} refused the search (HTTP {reply.status}): {detail}")

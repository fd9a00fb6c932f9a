"""Search Jaeger over its HTTP query API, with the standard library only.

The v3 API (``GET /api/v3/traces``, OTLP-JSON answers) is asked first. A server older than Jaeger 2.19
rejects its camelCase time-window names, and a v1 server has no v3 route; either way the v1 search
(``GET /api/traces``) is used instead. Parameter names, units and encodings are those Jaeger's handlers
parse: v3 times in RFC 3339, v1 times in Unix microseconds, attribute filters as a JSON map of strings.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Final

from lc_otel._cli.traces.jaeger_v1 import parse_v1_response
from lc_otel._cli.traces.model import Span
from lc_otel._cli.traces.otlp_json import FormatError, parse_traces_data
from lc_otel._cli.traces.query import Query

DEFAULT_JAEGER_URL: Final = "http://localhost:16686"
DEFAULT_LOOKBACK_SECONDS: Final = 48 * 3600.0
"""Jaeger's own default search window (``defaultTraceQueryLookbackDuration``)."""
_TIMEOUT_SECONDS: Final = 10.0


class JaegerError(Exception):
    """A search failed; the message is one line for the user."""


@dataclasses.dataclass(frozen=True)
class _Reply:
    status: int
    body: bytes


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


def _get(base_url: str, path: str, params: list[tuple[str, str]]) -> _Reply:
    url = base_url.rstrip("/") + path + "?" + urllib.parse.urlencode(params)
    try:
        request = urllib.request.Request(url, headers={"Accept": "application/json"})
    except ValueError:  # no scheme, a broken IPv6 host, ...
        raise JaegerError(f"not a Jaeger URL: {base_url!r} (expected e.g. http://localhost:16686)") from None
    if request.type not in {"http", "https"}:
        raise JaegerError(f"not a Jaeger URL: {base_url!r} (expected e.g. http://localhost:16686)")
    try:
        with urllib.request.urlopen(request, timeout=_TIMEOUT_SECONDS) as response:
            return _Reply(response.status, response.read())
    except urllib.error.HTTPError as exc:
        # Jaeger's error bodies are JSON sent as text/plain; the caller reads them either way.
        body = exc.read()
        exc.close()
        return _Reply(exc.code, body)
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise JaegerError(f"cannot reach Jaeger at {base_url}: {reason}") from None


def _json(body: bytes) -> Any:
    try:
        return json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None


def _v3_error_message(payload: Any) -> str | None:
    if isinstance(payload, dict) and isinstance(payload.get("error"), dict):
        message = payload["error"].get("message")
        return str(message) if message is not None else None
    return None


def _v1_error_message(payload: Any) -> str | None:
    if isinstance(payload, dict) and isinstance(payload.get("errors"), list) and payload["errors"]:
        first = payload["errors"][0]
        return str(first.get("msg")) if isinstance(first, dict) else str(first)
    return None


def _excerpt(body: bytes) -> str:
    text = body.decode("utf-8", "replace").strip().splitlines()
    return text[0][:200] if text else "(empty body)"


def search_jaeger(base_url: str, query: Query, *, now_ns: int) -> list[Span]:
    """Every span of the traces Jaeger finds for ``query`` (whole traces, as Jaeger returns them).

    Raises:
        JaegerError: The server cannot be reached or refused the search.
    """
    reply = _get(base_url, "/api/v3/traces", v3_params(query, now_ns=now_ns))
    payload = _json(reply.body)
    message = _v3_error_message(payload)
    if reply.status == 200 and isinstance(payload, dict):
        try:
            return parse_traces_data(payload.get("result") or {"resourceSpans": []})
        except FormatError as exc:
            raise JaegerError(f"unexpected answer from {base_url}/api/v3/traces: {exc}") from None
    if reply.status == 404 and message is not None:
        return []  # Jaeger answers a search without hits with 404 "No traces found".
    too_old = reply.status == 400 and message is not None and "start_time_min" in message
    no_v3 = reply.status == 404 and payload is None
    if too_old or no_v3:
        return _search_v1(base_url, query, now_ns=now_ns)
    detail = message or _excerpt(reply.body)
    raise JaegerError(f"Jaeger at {base_url} refused the search (HTTP {reply.status}): {detail}")


def _search_v1(base_url: str, query: Query, *, now_ns: int) -> list[Span]:
    reply = _get(base_url, "/api/traces", v1_params(query, now_ns=now_ns))
    payload = _json(reply.body)
    if reply.status == 200 and isinstance(payload, dict):
        try:
            return parse_v1_response(payload)
        except FormatError as exc:
            raise JaegerError(f"unexpected answer from {base_url}/api/traces: {exc}") from None
    if reply.status == 404 and payload is None:
        raise JaegerError(f"{base_url} does not look like a Jaeger query service (no search API found)")
    detail = _v1_error_message(payload) or _excerpt(reply.body)
    raise JaegerError(f"Jaeger at {base_url} refused the search (HTTP {reply.status}): {detail}")

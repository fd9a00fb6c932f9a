"""A bounded HTTP request for the command line.

It has an overall deadline, a cap on the bytes read, no cross-host redirects, and credentials that never reach
a message.

The standard library's ``urlopen`` has none of these: its timeout is per socket read (a server that sends a
byte a second never trips it), it reads a body of any size into memory, it follows a redirect to any host,
and its errors quote the URL as typed, password included. :func:`fetch` keeps ``urllib``'s proxies (from the
``*_proxy`` variables) and its HTTP handling, and adds the bounds. Every failure is a :class:`FetchError`
whose message is one printable line.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import http.client
import re
import socket
import ssl
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from typing import IO, Any, Final

from lc_otel._cli.terminal import printable, shorten

DEFAULT_TIMEOUT_SECONDS: Final = 30.0
DEFAULT_MAX_BYTES: Final = 64 * 1024 * 1024
MAX_REDIRECTS: Final = 3
_CHUNK: Final = 64 * 1024
_REDIRECTS: Final = frozenset({301, 302, 303, 307, 308})
_SIZE: Final = re.compile(r"(\d{1,15}(?:\.\d{1,6})?)([kmg]?)(?:i?b)?", re.IGNORECASE)
_SIZE_UNITS: Final = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}


class FetchError(Exception):
    """A request failed; the message is one printable line that names the server without its credentials."""

    def __init__(self, message: str, *, timed_out: bool = False) -> None:
        super().__init__(message)
        self.timed_out = timed_out
        """The deadline passed (callers that split one deadline over requests say so in their own words)."""


@dataclasses.dataclass(frozen=True)
class Reply:
    """A complete answer, whatever its status."""

    status: int
    body: bytes
    content_type: str = ""


def _netloc_without_userinfo(parts: urllib.parse.SplitResult) -> str:
    return parts.netloc.rpartition("@")[2]


def display_url(url: str) -> str:
    """``url`` as it may be printed: without ``user:password@``, control characters escaped, cut to a line.

    A bare ``user:password@host:port`` (which OTLP settings accept) loses its credentials too.
    """
    bare = "://" not in url
    try:
        parts = urllib.parse.urlsplit(f"http://{url}" if bare else url)
    except ValueError:
        return shorten(url.rpartition("@")[2])
    if "@" in parts.netloc:
        url = urllib.parse.urlunsplit(parts._replace(netloc=_netloc_without_userinfo(parts)))
        url = url.removeprefix("http://") if bare else url
    return shorten(url)


def check_url(text: str, *, example: str = "http://localhost:16686") -> str:
    """``text`` stripped, when it is an ``http(s)://host[:port]`` URL.

    Raises:
        ValueError: It is not; the message is one printable line without the URL's credentials.
    """
    url = text.strip()
    reason = url_problem(url)
    if reason is not None:
        raise ValueError(f"{reason}: '{display_url(url)}' (expected e.g. {example})")
    return url


def url_problem(url: str) -> str | None:
    """Why ``url`` is not an ``http(s)://host[:port]`` URL, in a few words; ``None`` when it is one."""
    if printable(url) != url or " " in url:
        return "not a URL (it holds spaces or control characters)"
    try:
        parts = urllib.parse.urlsplit(url)
        _ = parts.port  # raises ValueError for a port that is not a number in 0-65535
    except ValueError:
        return "not a valid URL"
    if parts.scheme not in {"http", "https"}:
        return "not an http(s) URL"
    if not parts.hostname:
        return "no host in URL"
    return None


def _credentials(url: str) -> tuple[str, dict[str, str]]:
    """The URL without userinfo, and the Basic ``Authorization`` header its userinfo stands for (as curl does)."""
    parts = urllib.parse.urlsplit(url)
    if "@" not in parts.netloc:
        return url, {}
    clean = urllib.parse.urlunsplit(parts._replace(netloc=_netloc_without_userinfo(parts)))
    user = urllib.parse.unquote(parts.username or "")
    password = urllib.parse.unquote(parts.password or "")
    token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
    return clean, {"Authorization": f"Basic {token}"}


def same_host(url: str, other: str) -> bool:
    """Whether a redirect from ``url`` to ``other`` stays on the host (an http → https upgrade does)."""
    a, b = urllib.parse.urlsplit(url), urllib.parse.urlsplit(other)
    downgrade = a.scheme == "https" and b.scheme != "https"
    return bool(a.hostname) and a.hostname == b.hostname and not downgrade


class _Deadline:
    """Ends every connection of one request when the deadline passes.

    A socket timeout bounds each read only; a server that drips a byte per read never trips it. The watchdog
    shuts the sockets down (on duplicates of their descriptors, so that a descriptor closed and reused in the
    meantime is never touched), which wakes the blocked read with an end of stream.
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._end = time.monotonic() + seconds
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self.expired = False
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True
        self._timer.start()

    def remaining(self) -> float:
        """Seconds left (at least a millisecond, since a zero socket timeout means non-blocking)."""
        return max(0.001, self._end - time.monotonic())

    def watch(self, sock: socket.socket) -> None:
        """Shut ``sock`` down when the deadline passes."""
        with self._lock:
            if self.expired:
                raise TimeoutError
            self._sockets.append(sock.dup())

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            for sock in self._sockets:
                with contextlib.suppress(OSError):  # already closed by the peer
                    sock.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        """Stop the watchdog and release the duplicates."""
        self._timer.cancel()
        self._timer.join()
        with self._lock:
            for sock in self._sockets:
                sock.close()
            self._sockets.clear()


def _resolve(host: str, port: int, deadline: _Deadline) -> list[Any]:
    """``getaddrinfo`` for a TCP connection, given up on when the deadline passes.

    The resolver has no timeout of its own (a dead DNS server holds it for the resolver's own retries, tens of
    seconds), so it runs in a daemon thread that is left behind if it outlasts the deadline.
    """
    found: list[Any] = []
    failed: list[OSError] = []

    def lookup() -> None:
        try:
            found.extend(socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM))
        except OSError as exc:
            failed.append(exc)

    resolver = threading.Thread(target=lookup, name="lc-otel-resolve", daemon=True)
    resolver.start()
    resolver.join(deadline.remaining())
    if resolver.is_alive() or deadline.expired:
        raise TimeoutError
    if failed:
        raise failed[0]
    return found


def _connect_within(deadline: _Deadline) -> Any:
    """A ``socket.create_connection`` whose name lookup counts against ``deadline`` too."""

    def connect(
        address: tuple[str, int], timeout: object = None, source_address: tuple[str, int] | None = None
    ) -> socket.socket:
        host, port = address
        last: OSError = OSError(f"no address for {host}")
        for family, kind, proto, _, sockaddr in _resolve(host, port, deadline):
            sock = socket.socket(family, kind, proto)
            try:
                # http.client passes the request's timeout, or socket's "global default" sentinel when it has none.
                limit = deadline.remaining()
                sock.settimeout(min(timeout, limit) if isinstance(timeout, (int, float)) else limit)
                if source_address is not None:
                    sock.bind(source_address)
                sock.connect(sockaddr)
            except OSError as exc:
                sock.close()
                last = exc
                continue
            return sock
        raise last

    return connect


def _opener(deadline: _Deadline) -> urllib.request.OpenerDirector:
    class Watched(http.client.HTTPConnection):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._create_connection = _connect_within(deadline)

        def connect(self) -> None:
            # Runs inside HTTPSConnection.connect too (see the class below), before the TLS handshake.
            super().connect()
            deadline.watch(self.sock)

    class WatchedTLS(http.client.HTTPSConnection, Watched):
        pass

    class HTTPHandler(urllib.request.HTTPHandler):
        def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
            return self.do_open(Watched, req)

    class HTTPSHandler(urllib.request.HTTPSHandler):
        def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
            return self.do_open(WatchedTLS, req, context=ssl.create_default_context())

    class Redirects(urllib.request.HTTPRedirectHandler):
        max_redirections = MAX_REDIRECTS
        max_repeats = MAX_REDIRECTS

        def redirect_request(
            self,
            req: urllib.request.Request,
            fp: IO[bytes],
            code: int,
            msg: str,
            headers: http.client.HTTPMessage,
            newurl: str,
        ) -> urllib.request.Request | None:
            if not same_host(req.full_url, newurl):
                return None  # the 3xx then surfaces as an HTTPError, reported by fetch()
            return super().redirect_request(req, fp, code, msg, headers, newurl)

    return urllib.request.build_opener(HTTPHandler, HTTPSHandler, Redirects)


def _read_capped(response: Any, max_bytes: int, shown: str) -> bytes:
    length_header = response.headers.get("Content-Length")
    length = int(length_header) if length_header and length_header.strip().isdigit() else None
    too_large = FetchError(f"the answer from {shown} is larger than {format_size(max_bytes)} (--max-bytes)")
    if length is not None and length > max_bytes:
        raise too_large
    chunks: list[bytes] = []
    total = 0
    while True:
        # At most one byte beyond the cap is ever read: enough to know the cap was passed.
        try:
            chunk = response.read(min(_CHUNK, max_bytes + 1 - total))
        except http.client.IncompleteRead:  # a chunked body cut short
            raise FetchError(f"the answer from {shown} broke off before its end") from None
        if not chunk:
            break
        total += len(chunk)
        if total > max_bytes:
            raise too_large
        chunks.append(chunk)
    if length is not None and total < length:
        raise FetchError(f"the answer from {shown} broke off after {total:,} of {length:,} bytes")
    return b"".join(chunks)


def _reason(exc: BaseException) -> str:
    reason = getattr(exc, "reason", None)
    if isinstance(reason, BaseException):
        exc = reason
    elif isinstance(reason, str) and reason:
        return shorten(reason)
    if isinstance(exc, OSError) and exc.strerror:
        return shorten(exc.strerror)
    return shorten(str(exc) or type(exc).__name__)


def fetch(
    url: str,
    *,
    name: str | None = None,
    headers: Mapping[str, str] | None = None,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> Reply:
    """GET ``url`` and return the answer, of any status, read whole.

    Same-host redirects are followed up to :data:`MAX_REDIRECTS` times; a redirect to another host is an error.
    ``user:password@`` in the URL is sent as Basic authentication and never printed. ``name`` is how messages
    call the server (default: the URL without credentials).

    Raises:
        FetchError: No complete answer within ``timeout`` seconds or ``max_bytes`` bytes, the server could not
            be reached, or the answer is not valid HTTP.
    """
    clean, auth = _credentials(url)
    shown = name or display_url(url)
    request = urllib.request.Request(clean, headers={**(headers or {}), **auth})
    deadline = _Deadline(timeout)
    try:
        try:
            with _opener(deadline).open(request, timeout=deadline.remaining()) as response:
                body = _read_capped(response, max_bytes, shown)
                reply = Reply(response.status, body, response.headers.get("Content-Type", ""))
        except urllib.error.HTTPError as exc:
            with exc:
                if exc.code in _REDIRECTS:
                    raise _redirect_error(clean, shown, exc) from None
                reply = Reply(exc.code, _read_capped(exc, max_bytes, shown), exc.headers.get("Content-Type", ""))
        if deadline.expired:  # the watchdog's shutdown ends a body without a length as if it were complete
            raise TimeoutError
    except FetchError as exc:
        if deadline.expired:  # a body cut short by the watchdog is a timeout, not a broken server
            raise _failure(TimeoutError(), shown, deadline) from None
        raise exc
    except (TimeoutError, urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as exc:
        raise _failure(exc, shown, deadline) from None
    finally:
        deadline.close()
    return reply


def _redirect_error(url: str, shown: str, exc: urllib.error.HTTPError) -> FetchError:
    location = exc.headers.get("Location", "")
    target = urllib.parse.urljoin(exc.geturl() or url, location)
    if location and not same_host(url, target):
        return FetchError(
            f"{shown} redirects to another host ({display_url(target)}); redirects to other hosts are not followed"
        )
    return FetchError(f"{shown} redirects more than {MAX_REDIRECTS} times, or nowhere (HTTP {exc.code})")


def _failure(exc: BaseException, shown: str, deadline: _Deadline) -> FetchError:
    if deadline.expired or isinstance(exc, TimeoutError) or isinstance(getattr(exc, "reason", None), TimeoutError):
        return FetchError(f"no complete answer from {shown} within {deadline.seconds:g} s", timed_out=True)
    if isinstance(exc, http.client.RemoteDisconnected):
        return FetchError(f"{shown} closed the connection without answering")
    if isinstance(exc, http.client.HTTPException):
        return FetchError(f"{shown} sent a malformed HTTP answer ({type(exc).__name__}: {_reason(exc)})")
    if isinstance(exc, urllib.error.URLError):
        return FetchError(f"cannot reach {shown}: {_reason(exc)}")
    if isinstance(exc, ValueError):
        return FetchError(f"not a valid URL: {shown}")
    return FetchError(f"the connection to {shown} failed: {_reason(exc)}")


def parse_size(text: str) -> int:
    """``1048576``, ``512k``, ``64M``, ``1.5G`` (binary units; ``KiB``, ``MB``, ``kb`` spellings accepted) → bytes.

    Raises:
        ValueError: Not such a size, or less than one byte.
    """
    match = _SIZE.fullmatch(text.strip().replace(" ", ""))
    if match is None:
        raise ValueError(f"not a size: '{shorten(text, 40)}' (examples: 1048576, 512k, 64M, 1G)")
    value = int(float(match.group(1)) * _SIZE_UNITS[match.group(2).lower()])
    if value < 1:
        raise ValueError(f"size must be at least one byte: '{shorten(text, 40)}'")
    return value


def format_size(size: int) -> str:
    """``64 MiB``, ``512 KiB``, ``100 bytes``."""
    for unit, factor in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if size >= factor and size % factor == 0:
            return f"{size // factor} {unit}"
    return f"{size:,} bytes"

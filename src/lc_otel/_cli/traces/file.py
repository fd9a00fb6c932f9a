"""Read an OTLP-JSON-lines file (one ``TracesData`` object per line, as ``FileSpanExporter`` writes it).

A corrupt line does not spoil the file: it is reported and skipped, and the other lines are read. A line
longer than the cap is skipped without being held in memory, so memory stays bounded whatever the file holds.
A named pipe (or ``--file <(command)``) is read as it comes, after waiting a bounded time for its writer.
"""

from __future__ import annotations

import dataclasses
import json
import os
import select
import stat
import time
from collections.abc import Iterator
from typing import BinaryIO, Final

from lc_otel._cli.http import DEFAULT_MAX_BYTES, DEFAULT_TIMEOUT_SECONDS, format_size
from lc_otel._cli.traces.model import Span
from lc_otel._cli.traces.otlp_json import FormatError, parse_traces_data

_BOM: Final = b"\xef\xbb\xbf"
_SKIP_CHUNK: Final = 1024 * 1024


class FileError(OSError):
    """The file cannot be read at all; the message says why in words."""


@dataclasses.dataclass(frozen=True)
class BadLine:
    """A line that could not be read, and why."""

    number: int
    """1-based line number."""
    reason: str


@dataclasses.dataclass(frozen=True)
class FileContents:
    """The spans of a file, and the lines that were skipped."""

    spans: list[Span]
    bad_lines: list[BadLine]
    lines: int
    """Non-blank lines seen."""


def read_spans_file(
    path: str | os.PathLike[str],
    *,
    max_line_bytes: int = DEFAULT_MAX_BYTES,
    pipe_wait: float = DEFAULT_TIMEOUT_SECONDS,
) -> FileContents:
    """Read every span of an OTLP-JSON-lines file.

    Args:
        path: A regular file, a named pipe or a device.
        max_line_bytes: Longer lines are skipped (and reported) without being read into memory.
        pipe_wait: Seconds to wait for a named pipe's writer to send something or go away.

    Raises:
        OSError: The file cannot be opened or read (:class:`FileError` when the reason is ours to word).
    """
    with open_spans_file(path, pipe_wait) as handle:
        return _read(handle, max_line_bytes)


def open_spans_file(path: str | os.PathLike[str], pipe_wait: float) -> BinaryIO:
    """Open ``path`` for reading in binary: a regular file, a device, or a named pipe once its writer came.

    Raises:
        OSError: It cannot be opened (:class:`FileError` for a directory, or a pipe nobody wrote to in time).
    """
    mode = os.stat(path).st_mode
    if stat.S_ISDIR(mode):
        raise FileError("it is a directory")
    if not stat.S_ISFIFO(mode):
        return open(path, "rb")
    # Opening a pipe for reading blocks until someone opens it for writing; non-blocking, then a bounded wait.
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    try:
        poller = select.poll()
        poller.register(fd, select.POLLIN | select.POLLHUP)
        end = time.monotonic() + pipe_wait
        while not poller.poll(max(0, int((end - time.monotonic()) * 1000))):
            if time.monotonic() >= end:
                raise FileError(f"nothing was written to this pipe within {pipe_wait:g} s (--timeout)")
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


@dataclasses.dataclass(frozen=True, slots=True)
class Line:
    """One non-blank line of a file, as :func:`lines` reads it."""

    number: int
    """1-based line number."""
    done: int
    """Bytes of the file read so far, this line included."""
    raw: bytes | None
    """The line's bytes (a leading byte-order mark removed); ``None`` for a line longer than the cap."""


def lines(handle: BinaryIO, max_line_bytes: int) -> Iterator[Line]:
    """Every non-blank line of ``handle``; a line over ``max_line_bytes`` is skipped unread, as ``raw=None``.

    Memory stays bounded by the cap whatever the file holds: a longer line is never held whole.
    """
    number = done = 0
    while True:
        # Bytes, so that one line of bad UTF-8 is one bad line rather than an unreadable file.
        raw = handle.readline(max_line_bytes + 1)
        if not raw:
            return
        number += 1
        done += len(raw)
        if number == 1:
            raw = raw.removeprefix(_BOM)  # written by some Windows editors; JSON forbids it
        if len(raw) > max_line_bytes and not raw.endswith(b"\n"):
            done += _skip_rest_of_line(handle)
            yield Line(number, done, None)
        elif raw.strip():
            yield Line(number, done, raw)


def too_long(max_line_bytes: int) -> str:
    """The reason given for a line over the cap."""
    return f"longer than {format_size(max_line_bytes)} (--max-bytes), not read"


def _read(handle: BinaryIO, max_line_bytes: int) -> FileContents:
    spans: list[Span] = []
    bad: list[BadLine] = []
    seen = 0
    for line in lines(handle, max_line_bytes):
        seen += 1
        reason = too_long(max_line_bytes) if line.raw is None else _parse_line(line.raw, spans)
        if reason is not None:
            bad.append(BadLine(line.number, reason))
    return FileContents(spans, bad, seen)


def _skip_rest_of_line(handle: BinaryIO) -> int:
    """Read past the end of the current line, a chunk at a time; return the bytes skipped."""
    skipped = 0
    while True:
        chunk = handle.readline(_SKIP_CHUNK)
        skipped += len(chunk)
        if not chunk or chunk.endswith(b"\n"):
            return skipped


def _parse_line(raw: bytes, spans: list[Span]) -> str | None:
    """Add the spans of one line to ``spans``; the reason the line was skipped, or ``None``."""
    try:
        spans.extend(parse_traces_data(json.loads(raw.strip().decode("utf-8"))))
    except UnicodeDecodeError:
        return "not UTF-8 text"
    except json.JSONDecodeError as exc:
        return f"not JSON ({exc.msg.removesuffix(' at')} at column {exc.colno})"  # "Invalid control character at"
    except FormatError as exc:
        return str(exc)
    except ValueError:  # an integer literal of thousands of digits, which Python refuses to convert
        return "not JSON that can be read (a number too long)"
    except RecursionError:
        return "nested too deeply"
    return None

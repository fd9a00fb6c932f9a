"""Text from data, made safe to print: control characters escaped, long values cut, any stream encoding.

Span names, status messages, server answers and file paths come from anywhere. Written raw, an ESC or BEL
sequence retitles or clears the user's terminal, a newline forges an extra line of output, and a character
the stream cannot encode ends the program. Everything the command line prints from data goes through
:func:`printable` (or :func:`shorten`) first, and every line is written with :func:`write_line`.
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Iterator
from typing import Final, TextIO

MESSAGE_LIMIT: Final = 200
"""Longest message (a server's error text, a value quoted in an error) printed, in characters."""

# C0 controls (newline and tab included), DEL, C1 controls, lone surrogates (a JSON "\ud800" decodes to one
# and no stream can encode it), the line and paragraph separators (str.splitlines breaks lines there), and
# the bidirectional overrides and isolates that reorder what a line appears to say.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    named = _NAMED.get(char)
    if named is not None:
        return named
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str) -> str:
    r"""``text`` with every control character written as a Python-style escape (``\x1b``, ``\n``, ``\u202e``)."""
    return _UNSAFE.sub(_escape, text) if _UNSAFE.search(text) else text


def shorten(text: str, limit: int = MESSAGE_LIMIT) -> str:
    """:func:`printable` ``text``, cut to about ``limit`` characters with the full length said at the end."""
    if len(text) <= limit:
        return printable(text)
    # Escape only what is shown: a 50 MB message costs the same as a short one.
    shown = printable(text[:limit])[:limit]
    return f"{shown}... ({len(text):,} characters)"


def write_line(stream: TextIO, line: str) -> None:
    r"""Write ``line`` and a newline; characters the stream's encoding lacks become ``\xe9``-style escapes."""
    write_text(stream, line + "\n")


def write_text(stream: TextIO, text: str) -> None:
    """Write ``text`` as is when the stream can encode it, else with backslash escapes for what it cannot."""
    encoding = getattr(stream, "encoding", None) or "utf-8"
    try:
        text.encode(encoding)
    except UnicodeEncodeError:
        text = text.encode(encoding, "backslashreplace").decode(encoding)
    except LookupError:  # a stream that names an encoding Python does not know: ASCII is safe everywhere
        text = text.encode("ascii", "backslashreplace").decode("ascii")
    stream.write(text)


@contextlib.contextmanager
def quiet_logs(*names: str) -> Iterator[None]:
    """Silence the loggers ``names`` (below CRITICAL) while the block runs.

    A failed export is reported in one line of the command's own; the exporters' retry warnings and tracebacks
    would bury it.
    """
    loggers = [logging.getLogger(name) for name in names]
    levels = [log.level for log in loggers]
    for log in loggers:
        log.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        for log, level in zip(loggers, levels, strict=True):
            log.setLevel(level)

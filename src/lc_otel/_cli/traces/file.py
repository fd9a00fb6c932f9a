"""Read an OTLP-JSON-lines file (one ``TracesData`` object per line, as ``FileSpanExporter`` writes it).

A corrupt line does not spoil the file: it is reported and skipped, and the other lines are read.
"""

from __future__ import annotations

import dataclasses
import json
import os

from lc_otel._cli.traces.model import Span
from lc_otel._cli.traces.otlp_json import FormatError, parse_traces_data


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


def read_spans_file(path: str | os.PathLike[str]) -> FileContents:
    """Read every span of an OTLP-JSON-lines file.

    Raises:
        OSError: The file cannot be opened or read.
    """
    spans: list[Span] = []
    bad: list[BadLine] = []
    seen = 0
    # Bytes, so that one line of bad UTF-8 is one bad line rather than an unreadable file.
    with open(path, "rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            seen += 1
            try:
                spans.extend(parse_traces_data(json.loads(raw.strip().decode("utf-8"))))
            except UnicodeDecodeError:
                bad.append(BadLine(number, "not UTF-8 text"))
            except json.JSONDecodeError as exc:
                bad.append(BadLine(number, f"not JSON ({exc.msg} at column {exc.colno})"))
            except (FormatError, RecursionError) as exc:
                bad.append(BadLine(number, str(exc) or type(exc).__name__))
    return FileContents(spans, bad, seen)

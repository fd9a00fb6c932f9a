"""Captured content: redacted, compact JSON of any value, cut to the length limit (messages: ``messages``).

Only used when content capture is on. The rendering work is bounded by the limit, not by the value: the walk
over nested values stops when it has produced enough (see :meth:`Redactor.value`), and secrets are replaced
as it goes (see :mod:`lc_otel._attributes.redaction`).
"""

from __future__ import annotations

from typing import Any

from lc_otel._attributes.redaction import REDACTED, Redactor, cut, is_secret_key
from lc_otel._attributes.tags_metadata import to_json


def dump(value: Any, redactor: Redactor, max_length: int) -> str:
    """Render ``value`` as redacted, compact JSON (strings as themselves), cut to ``max_length``."""
    clean = redactor.value(value, budget=max_length + 1)
    return cut(clean if isinstance(clean, str) else to_json(clean), max_length)


__all__ = ["REDACTED", "Redactor", "cut", "dump", "is_secret_key"]

"""Captured content: redacted, compact JSON of any value, cut to the length limit (messages: ``messages``).

Only used when content capture is on. The rendering work is bounded by the limit, not by the value: the walk
over nested values stops when it has produced enough (see :meth:`Redactor.value`), and secrets are replaced
as it goes (see :mod:`lc_otel._attributes.redaction`).
"""

from __future__ import annotations

import json
from typing import Any

from lc_otel._attributes.redaction import REDACTED, Redactor, coerce_text, cut, is_secret_key


def dump(value: Any, redactor: Redactor, max_length: int) -> str:
    """Render ``value`` as redacted, compact JSON (strings as themselves), cut to ``max_length``."""
    clean = redactor.value(value, budget=max_length + 1)
    if isinstance(clean, str):
        return cut(clean, max_length)
    try:
        text = json.dumps(clean, separators=(",", ":"), ensure_ascii=False, default=coerce_text)
    except (TypeError, ValueError, RecursionError):
        text = coerce_text(clean)
    return cut(text, max_length)


__all__ = ["REDACTED", "Redactor", "cut", "dump", "is_secret_key"]

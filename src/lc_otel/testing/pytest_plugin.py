"""The ``lc_otel_spans`` pytest fixture, registered through the ``pytest11`` entry point when lc-otel is installed.

Disable it with ``-p no:lc_otel``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from lc_otel.testing._capture import CapturedSpans, capture_spans


@pytest.fixture
def lc_otel_spans() -> Iterator[CapturedSpans]:
    """The spans of every LangChain run the test starts, captured in memory.

    See :func:`lc_otel.testing.capture_spans`: this is the same around the whole test.
    """
    with capture_spans() as captured:
        yield captured


__all__ = ["lc_otel_spans"]

"""Assert in your own tests what your LangChain code traces.

* :func:`capture_spans`: a context manager that traces every LangChain run started in the block into memory
  and yields :class:`CapturedSpans` (``spans``, ``trees()``, ``tree()``, ``find(name)``, ``assert_shape(...)``).
* The ``lc_otel_spans`` pytest fixture (registered by installing lc-otel): the same around one test.
* :class:`FakeChatModel`, :func:`reply`, :func:`usage`: an offline chat model that reports token usage, tool
  calls and finish reasons the way a provider does, and streams.
* :func:`reset`: lc_otel's process-wide state (``instrument()``, context propagation) back to a fresh process's.

Example::

    from lc_otel.testing import FakeChatModel, capture_spans, reply

    def test_my_chain_is_traced():
        model = FakeChatModel(responses=[reply("Hi!", input_tokens=12, output_tokens=2)])
        with capture_spans() as captured:
            model.invoke("Hello")
        captured.assert_shape("chat fake-model-1")
        assert captured.find("chat fake-model-1").attributes["gen_ai.usage.input_tokens"] == 12

This module does not import pytest; only :mod:`lc_otel.testing.pytest_plugin` does. See ``docs/testing.md``.
"""

from __future__ import annotations

from lc_otel.testing._capture import (
    CapturedSpans,
    Shape,
    SpanNode,
    assert_span_trees,
    capture_spans,
    find_span,
    span_trees,
)
from lc_otel.testing._models import FakeChatModel, reply, usage
from lc_otel.testing._reset import reset

__all__ = [
    "CapturedSpans",
    "FakeChatModel",
    "Shape",
    "SpanNode",
    "assert_span_trees",
    "capture_spans",
    "find_span",
    "reply",
    "reset",
    "span_trees",
    "usage",
]

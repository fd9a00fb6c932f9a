"""Record how a run ended: failed, cancelled, or evicted."""

from __future__ import annotations

import asyncio
import builtins
from typing import Final

from opentelemetry.trace import Span, Status, StatusCode

from lc_otel._attributes import semconv as sc

_CANCELLATIONS: Final = (asyncio.CancelledError, GeneratorExit)


def is_cancellation(error: BaseException) -> bool:
    """Tell whether ``error`` means the caller gave up (a cancelled task, a closed generator)."""
    return isinstance(error, _CANCELLATIONS)


def error_type(error: BaseException) -> str:
    """Return the exception's fully qualified class name (``module.QualName``; builtins by bare name)."""
    cls = type(error)
    module = getattr(cls, "__module__", None)
    qualname = getattr(cls, "__qualname__", cls.__name__)
    if not module or module == builtins.__name__:
        return qualname
    return f"{module}.{qualname}"


def describe(error: BaseException) -> str:
    """Return ``ExceptionType: message`` (just the type when the message is empty)."""
    try:
        message = str(error)
    except Exception:  # noqa: BLE001 - an exception whose __str__ fails still gets recorded
        message = ""
    name = type(error).__name__
    return f"{name}: {message}" if message else name


def is_control_flow(error: BaseException) -> bool:
    """Tell whether ``error`` is LangGraph control flow, not a failure.

    ``interrupt()`` (human in the loop) raises ``GraphInterrupt`` and a handoff to a parent graph raises
    ``ParentCommand``; both derive from ``langgraph.errors.GraphBubbleUp``. Matched by name, so LangGraph
    need not be installed (or imported) for this check.
    """
    return any(
        cls.__name__ == "GraphBubbleUp" and cls.__module__.startswith("langgraph") for cls in type(error).__mro__
    )


def mark_failed(span: Span, error: BaseException) -> None:
    """Set status ERROR, ``error.type`` and an ``exception`` event on ``span``.

    LangGraph control flow (see :func:`is_control_flow`) is no failure: the span keeps status UNSET and gets
    ``langgraph.control_flow`` = the exception's class name instead, so a paused graph is not an error in
    every dashboard.
    """
    if is_control_flow(error):
        span.set_attribute(sc.LANGGRAPH_CONTROL_FLOW, type(error).__name__)
        return
    qualified = error_type(error)
    span.set_attribute(sc.ERROR_TYPE, qualified)
    try:
        span.record_exception(error)
    except Exception:  # noqa: BLE001 - an exception whose __str__ raises still gets its event, and the span ends
        span.add_event("exception", {"exception.type": qualified, "exception.message": describe(error)})
    span.set_status(Status(StatusCode.ERROR, describe(error)))


def mark_cancelled(span: Span) -> None:
    """Mark ``span`` as cancelled: the caller that gave up records its own error, so status stays UNSET."""
    span.set_attribute(sc.RUN_CANCELLED, True)

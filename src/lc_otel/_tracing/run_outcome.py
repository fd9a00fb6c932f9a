"""Record how a run ended: failed, cancelled, or evicted.

An error's text is exported whatever the content setting, and error messages are where keys leak (a 401 that
echoes ``Bearer sk-…``, a driver error with ``postgresql://app:pw@host``): the message, the stacktrace and the
status description are redacted and cut (``LC_OTEL_MAX_EXCEPTION_LENGTH``) before they reach the span.
"""

from __future__ import annotations

import asyncio
import builtins
import traceback
from typing import Final

from opentelemetry.trace import Span, Status, StatusCode
from opentelemetry.util.types import AttributeValue

from lc_otel._attributes import semconv as sc
from lc_otel._attributes.redaction import BUILTIN_REDACTOR, MAX_NAME_LENGTH, Redactor

_CANCELLATIONS: Final = (asyncio.CancelledError, GeneratorExit)
DEFAULT_MAX_LENGTH: Final = 8192
"""Characters kept of an exception's message, of its stacktrace and of the status description by default."""
_FRAMES: Final = 64
"""Frames formatted per exception at most (the innermost): the stacktrace is cut to its end anyway."""


def is_cancellation(error: BaseException) -> bool:
    """Tell whether ``error`` means the caller gave up (a cancelled task, a closed generator)."""
    return isinstance(error, _CANCELLATIONS)


def error_type(error: BaseException) -> str:
    """Return the exception's fully qualified class name (``module.QualName``; builtins by bare name)."""
    cls = type(error)
    module = getattr(cls, "__module__", None)
    qualname = getattr(cls, "__qualname__", cls.__name__)
    if not module or module == builtins.__name__:
        return str(qualname)[:MAX_NAME_LENGTH]
    return f"{module}.{qualname}"[:MAX_NAME_LENGTH]


def _message(error: BaseException) -> str:
    try:
        return str(error)
    except Exception:  # noqa: BLE001 - an exception whose __str__ fails still gets recorded
        return ""


def describe(error: BaseException) -> str:
    """Return ``ExceptionType: message`` (just the type when the message is empty)."""
    message = _message(error)
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


def _stacktrace(error: BaseException) -> str:
    try:
        formatted = traceback.TracebackException(
            type(error), error, error.__traceback__, limit=-_FRAMES, compact=True
        ).format()
        return "".join(formatted)
    except Exception:  # noqa: BLE001 - a stacktrace is a bonus; the event and the status still get recorded
        return ""


def exception_attributes(error: BaseException, redactor: Redactor, max_length: int) -> dict[str, AttributeValue]:
    """The ``exception`` event's attributes (as the SDK's ``record_exception`` has them), redacted and cut.

    The stacktrace keeps its end: the innermost frames and the exception's own line.
    """
    return {
        "exception.type": error_type(error),
        "exception.message": redactor.head(_message(error), max_length),
        "exception.stacktrace": redactor.tail(_stacktrace(error), max_length),
        "exception.escaped": "False",
    }


def mark_failed(
    span: Span, error: BaseException, redactor: Redactor | None = None, max_length: int = DEFAULT_MAX_LENGTH
) -> None:
    """Set status ERROR, ``error.type`` and an ``exception`` event on ``span``, secrets redacted.

    LangGraph control flow (see :func:`is_control_flow`) is no failure: the span keeps status UNSET and gets
    ``langgraph.control_flow`` = the exception's class name instead, so a paused graph is not an error in
    every dashboard.

    Args:
        span: The run's span.
        error: What the run raised.
        redactor: The handler's redactor (the built-in patterns and the user's); the built-in ones if ``None``.
        max_length: Characters kept of the message, the stacktrace and the status description.
    """
    if is_control_flow(error):
        span.set_attribute(sc.LANGGRAPH_CONTROL_FLOW, type(error).__name__[:MAX_NAME_LENGTH])
        return
    redacts = redactor if redactor is not None else BUILTIN_REDACTOR
    span.set_attribute(sc.ERROR_TYPE, error_type(error))
    span.add_event("exception", exception_attributes(error, redacts, max_length))
    span.set_status(Status(StatusCode.ERROR, redacts.head(describe(error), max_length)))


def mark_cancelled(span: Span) -> None:
    """Mark ``span`` as cancelled: the caller that gave up records its own error, so status stays UNSET."""
    span.set_attribute(sc.RUN_CANCELLED, True)

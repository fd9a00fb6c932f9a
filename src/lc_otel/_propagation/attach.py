"""Making a run's context current and undoing it, for the wrappers; none of these raise.

A failure in lc_otel's part is logged once and the wrapped call goes on as if propagation were off.
"""

from __future__ import annotations

import contextvars
import uuid
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace

from lc_otel._internal_errors import report_internal_error
from lc_otel._propagation import state
from lc_otel._propagation.lookup import RunSpan, context_of_run
from lc_otel._tracing import fast_context


def pending_context(run_id: uuid.UUID | None, where: str) -> otel_context.Context | None:
    """A context whose current span stands for ``run_id``'s span; built once per stream or call."""
    if run_id is None or not state.active:
        return None
    try:
        return trace.set_span_in_context(RunSpan(run_id, trace.get_current_span()))
    except Exception as error:  # noqa: BLE001
        report_internal_error(where, error)
        return None


def stream_context(run_id: uuid.UUID | None, where: str) -> contextvars.Context | None:
    """A copy of the caller's context with a stand-in for ``run_id``'s span current, to run a stream in."""
    current = pending_context(run_id, where)
    if current is None:
        return None
    try:
        context = contextvars.copy_context()
        context.run(fast_context.attach, current)
    except Exception as error:  # noqa: BLE001
        report_internal_error(where, error)
        return None
    return context


def attach_context(context: otel_context.Context | None, where: str) -> object | None:
    """Make ``context`` current; return the token to detach in the same frame (``None``: nothing attached)."""
    if context is None:
        return None
    try:
        return fast_context.attach(context)
    except Exception as error:  # noqa: BLE001
        report_internal_error(where, error)
        return None


def safe_detach(token: object | None, where: str) -> None:
    """Detach what :func:`attach_context` or :func:`attach_manager` attached (nothing for ``None``)."""
    if token is None:
        return
    try:
        fast_context.detach(token)
    except Exception as error:  # noqa: BLE001 - a token reset in another context: log, never raise
        report_internal_error(where, error)


def attach_manager(manager: Any, where: str) -> object | None:
    """Attach the context of a run manager's run; ``None`` when there is none or lc_otel's part failed."""
    if not state.active:
        return None
    try:
        context = context_of_run(getattr(manager, "run_id", None))
        return fast_context.attach(context) if context is not None else None
    except Exception as error:  # noqa: BLE001 - fall back to the original behaviour
        report_internal_error(where, error)
        return None


__all__ = ["attach_context", "attach_manager", "pending_context", "safe_detach", "stream_context"]

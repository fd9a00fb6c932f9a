"""The current OpenTelemetry context, read and set without the API's layers on the hot path.

``opentelemetry.context.get_current()`` / ``attach()`` / ``detach()`` are each two Python calls around one
``ContextVar`` method when the default runtime context is in use, and lc_otel calls them on every run start
and around every streamed chunk. When the default is in use, these names are that variable's own methods;
with any other runtime context (``OTEL_PYTHON_CONTEXT``, or a future SDK that stores it differently) they are
the public API. Either way the behaviour is the API's; only the cost differs.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry.context import Context
from opentelemetry.context.contextvars_context import ContextVarsRuntimeContext


def _default_variable() -> ContextVar[Context] | None:
    """The ``ContextVar`` behind OpenTelemetry's default runtime context, if that is the one in use."""
    runtime = getattr(otel_context, "_RUNTIME_CONTEXT", None)
    if type(runtime) is not ContextVarsRuntimeContext:
        return None
    variable = getattr(runtime, "_current_context", None)
    return variable if isinstance(variable, ContextVar) else None


def _public_detach(token: Any) -> None:
    otel_context.detach(token)


get_current: Callable[[], Context] = otel_context.get_current
"""Return the current context."""
attach: Callable[[Context], object] = otel_context.attach
"""Make a context current; return the token for :data:`detach`."""
detach: Callable[[Any], None] = _public_detach
"""Restore the context that was current before the :data:`attach` that returned ``token``.

Unlike the API's, the fast one raises (``ValueError``/``RuntimeError``) on a token from another context:
callers guard it."""

_variable = _default_variable()
if _variable is not None:
    get_current, attach, detach = _variable.get, _variable.set, _variable.reset

"""``instrument()`` / ``uninstrument()``: one handler for every LangChain run in the process.

The mechanism is LangChain's own configure hook, not a patch of its classes:
``register_configure_hook(ContextVar(default=HANDLER), inheritable=True, OpenTelemetryCallbackHandler)``.

- The handler is the ContextVar's *default*, not a value ``set()`` in one context, so raw threads, thread
  pools and tasks created before ``instrument()`` see it too (a new thread starts with an empty context).
- Passing the class makes LangChain skip the process handler when a manager already holds any
  ``OpenTelemetryCallbackHandler``, the same instance or another one passed explicitly: one span per run.
- ``inheritable=True`` hands the handler to child runs, so every run of a tree is traced by the same one.

LangChain has no way to remove a hook, so :func:`uninstrument` switches the handler off instead (callbacks
return at once) and :func:`instrument` switches it back on. :func:`suppress_tracing` opts one context out.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Final

from langchain_core.tracers.context import register_configure_hook
from opentelemetry.trace import TracerProvider

from lc_otel._internal_errors import report_internal_error
from lc_otel._propagation import install as propagation
from lc_otel.handler import OpenTelemetryCallbackHandler

logger: Final = logging.getLogger("lc_otel")

_suppressed: ContextVar[bool] = ContextVar("lc_otel_suppressed", default=False)


class _ProcessHandler(OpenTelemetryCallbackHandler):
    """The process-wide handler: on while instrumented, off inside :func:`suppress_tracing`."""

    _switched_on = True

    @property
    def enabled(self) -> bool:
        """``True`` when instrumented and the current context has not opted out."""
        return self._switched_on and not _suppressed.get()

    @enabled.setter
    def enabled(self, value: bool) -> None:
        self._switched_on = value


_lock = threading.Lock()
_handler: _ProcessHandler | None = None
_var: ContextVar[OpenTelemetryCallbackHandler | None] | None = None


def instrument(
    tracer_provider: TracerProvider | None = None, *, propagate_context: bool | None = None, **options: Any
) -> OpenTelemetryCallbackHandler:
    """Trace every LangChain run in the process, exactly once, and return the process-wide handler.

    Idempotent. The first call creates the handler with these options; a later call (also after
    :func:`uninstrument`) switches the same handler back on and ignores its options, with a warning if it
    passes any: runs may be in flight on the handler, and LangChain cannot unregister it. Runs that are passed
    an ``OpenTelemetryCallbackHandler`` explicitly are traced by that one instead, still once.

    Args:
        tracer_provider: The provider for spans; the global one (as it is when each span starts) if ``None``.
        propagate_context: Make a step's span current while the step runs, so spans other libraries create
            inside it (httpx, a user's ``start_as_current_span``) nest under it. ``None`` reads
            ``LC_OTEL_PROPAGATE_CONTEXT`` (on by default).
        **options: The other :class:`OpenTelemetryCallbackHandler` options (``capture_content``, ``settings``,
            ...).

    Returns:
        The process-wide handler.
    """
    global _handler, _var  # noqa: PLW0603 - the process-wide state is the point of this module
    with _lock:
        # Decided before the handler exists: creating a handler turns propagation on by default.
        if propagate_context is False:
            propagation.uninstall()
        elif propagate_context is True:
            propagation.install()
        if _handler is None:
            _handler = _ProcessHandler(tracer_provider, **options)
            _var = ContextVar("lc_otel_handler", default=_handler)
            register_configure_hook(_var, True, OpenTelemetryCallbackHandler)
            _warn_if_langsmith_exports_otel()
        elif tracer_provider is not None or any(value is not None for value in options.values()):
            logger.warning(
                "lc_otel: instrument() was already called; the options of this call are ignored "
                "(the process-wide handler keeps those of the first call)"
            )
        _handler.enabled = True
        # Creating the handler did this; switching an existing one back on after lc_otel.testing.reset() must too.
        propagation.install_by_default()
        return _handler


def uninstrument() -> None:
    """Stop tracing runs that start from now on; runs already started still end their spans."""
    with _lock:
        if _handler is not None:
            _handler.enabled = False


def is_instrumented() -> bool:
    """Whether :func:`instrument` is in force (outside any :func:`suppress_tracing` block)."""
    return _handler is not None and _handler.enabled


def process_handler() -> OpenTelemetryCallbackHandler | None:
    """The process-wide handler, once :func:`instrument` made it (switched on or off)."""
    return _handler


@contextmanager
def suppress_tracing() -> Iterator[None]:
    """Opt the current context out of the process-wide tracing.

    Use it as ``with suppress_tracing(): ...``.

    Runs started inside the block, in this thread or task and in what it starts, get no span from the
    process-wide handler. Handlers passed explicitly still trace. Works as a sync or async ``with`` body.
    """
    token = _suppressed.set(True)
    var_token = _var.set(None) if _var is not None else None
    try:
        yield
    finally:
        if var_token is not None and _var is not None:
            _var.reset(var_token)
        _suppressed.reset(token)


_LANGSMITH_OTEL_SWITCHES: Final = ("TRACING_MODE", "OTEL_ENABLED", "OTEL_ONLY")


def _warn_if_langsmith_exports_otel() -> None:
    """LangSmith's own OpenTelemetry mode would export every run a second time: say so, once."""
    try:
        for prefix in ("LANGSMITH_", "LANGCHAIN_"):
            for switch in _LANGSMITH_OTEL_SWITCHES:
                value = os.environ.get(prefix + switch, "").strip().lower()
                if value in {"otel", "hybrid", "true", "1"}:
                    logger.warning(
                        "lc_otel: %s%s=%s makes LangSmith export runs to OpenTelemetry too; "
                        "with lc_otel.instrument() every run would be exported twice",
                        prefix,
                        switch,
                        value,
                    )
                    return
    except Exception as error:  # noqa: BLE001
        report_internal_error("instrument", error)

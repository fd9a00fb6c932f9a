"""End the runs LangChain starts and then never ends, because a task was cancelled where it sends no event.

LangChain reports a cancelled run with ``on_*_error(CancelledError)`` wherever its code catches
``BaseException``. Three places do not, and a run lc_otel started there would stay open until its age eviction:

* A start event sent to other handlers than lc_otel's: ``AsyncCallbackManager.on_*_start`` calls the inline
  handlers (lc_otel's, which starts the span) and then awaits the others. Cancelled there, the caller never
  gets the run manager that would end the run. ``astream_events`` always has such a handler (its event
  streamer), so an SSE client that disconnects right after the start hits this; so does every async run with
  another async tracer (LangSmith's) installed.
* ``BaseChatModel.agenerate`` (``ainvoke``, streaming or not) gathers its model calls; cancelling the gather
  skips their ``on_llm_error``.
* ``BaseRetriever.ainvoke`` reports ``Exception`` only, not a cancellation.

Each of these gets a wrapper that opens a *scope* around the call: every run an lc_otel handler starts
inside it is recorded there (see :func:`record`), and when the call raises, each recorded run that is still
open is ended at once, with its open descendants: marked ``langchain.run.cancelled`` for a cancellation, failed
for anything else. A scope that returns normally hands its runs to the scope around it, so a model run started
inside ``on_chat_model_start`` is still ended when the ``agenerate`` around it is cancelled later.

These wrappers are about span lifecycle, not context propagation: :func:`install` puts them in place when the
first handler is created, whatever ``LC_OTEL_PROPAGATE_CONTEXT`` says, and they stay. Each costs one context
variable set and reset per wrapped call, and nothing more unless the call fails.
"""

from __future__ import annotations

import functools
import importlib
import threading
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import Any, Final, Protocol

from lc_otel._internal_errors import report_internal_error
from lc_otel._tracing.run_table import Run

_WRAPPED: Final = "__lc_otel_ends_abandoned_runs__"


class Ends(Protocol):
    """A handler that can end one of its runs that LangChain will never end."""

    def end_abandoned(self, run: Run, error: BaseException) -> None:
        """End ``run`` (if still open) and its open descendants, as cancelled or failed by ``error``."""


Started = list[tuple[Ends, Run]]
"""The runs started inside one scope, with the handler that started each."""

_started: ContextVar[Started | None] = ContextVar("lc_otel_started_runs", default=None)


def record(handler: Ends, run: Run) -> None:
    """Remember ``run`` in the innermost open scope, if any (called by the handler for every run it starts)."""
    scope = _started.get()
    if scope is not None:
        scope.append((handler, run))


def _end_open(started: Started, error: BaseException) -> None:
    for handler, run in started:
        if not run.is_open:  # LangChain ended it, as it does for most failures
            continue
        try:
            handler.end_abandoned(run, error)
        except Exception as internal:  # noqa: BLE001 - never raise into the host
            report_internal_error("end_abandoned", internal)


def _ending_abandoned_runs(original: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    """Wrap an async LangChain function so the runs started inside it end when it raises."""

    @functools.wraps(original)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        outer = _started.get()
        started: Started = []
        token = _started.set(started)
        try:
            result = await original(*args, **kwargs)
        except BaseException as error:
            _end_open(started, error)
            raise
        finally:
            _started.reset(token)
        if outer is not None and started:
            outer.extend(started)
        return result

    return wrapper


_TARGETS: Final = (
    ("langchain_core.callbacks.manager", "AsyncCallbackManager", "on_chain_start"),
    ("langchain_core.callbacks.manager", "AsyncCallbackManager", "on_tool_start"),
    ("langchain_core.callbacks.manager", "AsyncCallbackManager", "on_retriever_start"),
    ("langchain_core.callbacks.manager", "AsyncCallbackManager", "on_chat_model_start"),
    ("langchain_core.callbacks.manager", "AsyncCallbackManager", "on_llm_start"),
    ("langchain_core.language_models.chat_models", "BaseChatModel", "agenerate"),
    ("langchain_core.retrievers", "BaseRetriever", "ainvoke"),
)
"""``(module, class, method)``: the async functions after which LangChain may leave a started run open."""

_lock = threading.Lock()
_installed = False


def install() -> None:
    """Put the wrappers in place, once per process; a failure is logged and leaves LangChain as it was."""
    global _installed  # noqa: PLW0603 - process-wide by nature
    with _lock:
        if _installed:
            return
        _installed = True
        for module_name, owner, name in _TARGETS:
            try:
                holder = getattr(importlib.import_module(module_name), owner)
                original = holder.__dict__.get(name)
                if original is None or getattr(original, _WRAPPED, False):  # absent, or a second copy of lc_otel
                    continue
                wrapper = _ending_abandoned_runs(original)
                setattr(wrapper, _WRAPPED, True)
                setattr(holder, name, wrapper)
            except Exception as error:  # noqa: BLE001 - a LangChain without this function: that run type as before
                report_internal_error("cancellation install", error)


__all__ = ["Ends", "install", "record"]

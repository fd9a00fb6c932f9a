"""``token_usage()``: count the tokens of every model call made inside a block, for any provider.

One process-wide :class:`_UsageHandler` is added to LangChain runs through
``langchain_core.tracers.context.register_configure_hook``, but only while a ``token_usage()`` block is active
in the current context: the hook's ContextVar holds the singleton inside a block and ``None`` outside, so code
that never counts tokens pays nothing. A second ContextVar holds the innermost active :class:`TokenUsage`;
scopes link to their parent, and each call is added to the scope and every ancestor, so an outer block counts
its inner blocks' calls once.

Tasks and LangChain's thread pools (``batch``, ``RunnableParallel``) copy the context they start in, so calls
made in them count in the block they were started in; a task started before the block does not see it.
The tracing handler does not count anything here, so passing it, or calling ``instrument()``, never
double-counts.
"""

from __future__ import annotations

import dataclasses
import threading
from collections import OrderedDict
from collections.abc import Mapping
from contextvars import ContextVar, Token
from types import TracebackType
from typing import Any, Final
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler

from lc_otel._attributes import genai as _genai
from lc_otel._attributes.usage import Usage
from lc_otel._internal_errors import guarded

UNKNOWN_MODEL: Final = "unknown"
"""The ``by_model`` key of calls whose model name neither the response nor the request tells."""

_MAX_PENDING: Final = 10_000
"""Model runs remembered between start and end; a run that never ends is forgotten past this."""


@dataclasses.dataclass(slots=True)
class ModelUsage(Usage):
    """Token counts of a set of model calls: the fields of one call's usage, and how many calls."""

    calls: int = 0
    """Model calls that returned a response."""

    def _add(self, usage: Usage | None, calls: int) -> None:
        self.calls += calls
        if usage is not None:
            self.add(usage)


# One lock for every scope: updates are a handful of integer additions, so contention is negligible,
# and a single lock makes "add to a scope and all its ancestors" atomic.
_lock = threading.Lock()


class TokenUsage(ModelUsage):
    """The token totals of a ``token_usage()`` block, overall and per model.

    The counters are live: they grow while calls made inside the block finish, also after the block exits
    if a task started inside it is still running.
    """

    __slots__ = ("_by_model", "_parent")

    def __init__(self, parent: TokenUsage | None = None) -> None:
        super().__init__()
        self._parent = parent
        self._by_model: dict[str, ModelUsage] = {}

    @property
    def by_model(self) -> dict[str, ModelUsage]:
        """A snapshot of the counts per model name (the response's model, else the requested one)."""
        with _lock:
            return {name: dataclasses.replace(usage) for name, usage in self._by_model.items()}

    def __repr__(self) -> str:
        return (
            f"TokenUsage(input_tokens={self.input_tokens}, output_tokens={self.output_tokens}, "
            f"total_tokens={self.total_tokens}, calls={self.calls}, by_model={self.by_model!r})"
        )

    def _record(self, model: str, usage: Usage | None, calls: int) -> None:
        with _lock:
            scope: TokenUsage | None = self
            while scope is not None:
                scope._add(usage, calls)
                per_model = scope._by_model.get(model)
                if per_model is None:
                    per_model = scope._by_model[model] = ModelUsage()
                per_model._add(usage, calls)
                scope = scope._parent


class _UsageHandler(BaseCallbackHandler):
    """Adds each finished model call to the ``token_usage()`` scope of the context it ends in."""

    run_inline = True  # called in the caller's thread and task: the scope ContextVar is visible there
    raise_error = False
    ignore_chain = True
    ignore_agent = True
    ignore_retriever = True
    ignore_retry = True
    ignore_custom_event = True

    def __init__(self) -> None:
        super().__init__()
        self._pending_lock = threading.Lock()
        # run id -> (requested model, scope at start): a bounded memory for the end event.
        self._pending: OrderedDict[UUID, tuple[str | None, TokenUsage | None]] = OrderedDict()

    # One instance, however LangChain copies configs.
    def __copy__(self) -> _UsageHandler:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> _UsageHandler:
        return self

    def _remember(
        self,
        run_id: UUID,
        serialized: Mapping[str, Any] | None,
        metadata: Mapping[str, Any] | None,
        kwargs: Mapping[str, Any],
    ) -> None:
        params = kwargs.get("invocation_params")
        model = _genai.request_model(metadata, params if isinstance(params, Mapping) else None, serialized)
        with self._pending_lock:
            self._pending[run_id] = (model, _scope.get())
            while len(self._pending) > _MAX_PENDING:
                self._pending.popitem(last=False)

    def _forget(self, run_id: UUID) -> tuple[str | None, TokenUsage | None]:
        with self._pending_lock:
            return self._pending.pop(run_id, (None, None))

    @guarded
    def on_chat_model_start(
        self,
        serialized: dict[str, Any],
        messages: list[list[Any]],
        *,
        run_id: UUID,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        """Remember the requested model and the active scope."""
        self._remember(run_id, serialized, metadata, kwargs)

    @guarded
    def on_llm_start(
        self,
        serialized: dict[str, Any],
        prompts: list[str],
        *,
        run_id: UUID,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        """Remember the requested model and the active scope."""
        self._remember(run_id, serialized, metadata, kwargs)

    @guarded
    def on_llm_end(self, response: Any, *, run_id: UUID, **kwargs: Any) -> None:
        """Count the call and its tokens in the scope that was active when it started."""
        requested, scope = self._forget(run_id)
        scope = scope or _scope.get()
        if scope is None:
            return
        model, usage = _genai.response_model_and_usage(response)
        scope._record(model or requested or UNKNOWN_MODEL, usage, calls=1)

    @guarded
    def on_llm_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        """Count the tokens a failed call still reported (a stream cut after its usage), not the call."""
        requested, scope = self._forget(run_id)
        scope = scope or _scope.get()
        partial = kwargs.get("response")
        if scope is None or partial is None:
            return
        model, usage = _genai.response_model_and_usage(partial)
        if usage is not None:
            scope._record(model or requested or UNKNOWN_MODEL, usage, calls=0)


_HANDLER: Final = _UsageHandler()
_handler_var: ContextVar[_UsageHandler | None] = ContextVar("lc_otel_token_usage_handler", default=None)
_scope: ContextVar[TokenUsage | None] = ContextVar("lc_otel_token_usage_scope", default=None)
_hook_lock = threading.Lock()
_hook_registered = False


def _register_hook() -> None:
    global _hook_registered  # noqa: PLW0603 - a process-wide, register-once flag
    with _hook_lock:
        if _hook_registered:
            return
        from langchain_core.tracers.context import register_configure_hook

        # handle_class=None: deduplicated by identity, so the one singleton is added once per run and never
        # confused with a user's handler of another class.
        register_configure_hook(_handler_var, True)
        _hook_registered = True


class token_usage:  # lower case: used like a function, ``with token_usage() as usage``
    """Count the tokens of every model call inside the block, for any provider.

    Works as ``with token_usage() as usage:`` and ``async with token_usage() as usage:``, with or without a
    handler passed or ``instrument()`` called. Calls made in tasks and LangChain thread pools started inside
    the block count; nested blocks count their own calls, and the outer block counts them too.

    Example:
        >>> with token_usage() as usage:  # doctest: +SKIP
        ...     chain.invoke({"question": "hi"})
        >>> usage.total_tokens, usage.by_model  # doctest: +SKIP
    """

    def __init__(self) -> None:
        self._usage: TokenUsage | None = None
        self._tokens: tuple[Token[_UsageHandler | None], Token[TokenUsage | None]] | None = None

    def __enter__(self) -> TokenUsage:
        _register_hook()
        self._usage = TokenUsage(_scope.get())
        self._tokens = (_handler_var.set(_HANDLER), _scope.set(self._usage))
        return self._usage

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        tokens, self._tokens = self._tokens, None
        if tokens is not None:
            handler_token, scope_token = tokens
            _scope.reset(scope_token)
            _handler_var.reset(handler_token)

    async def __aenter__(self) -> TokenUsage:
        return self.__enter__()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.__exit__(exc_type, exc, traceback)


__all__ = ["ModelUsage", "TokenUsage", "token_usage"]

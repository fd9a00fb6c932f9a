"""The wrappers put around LangChain's functions so a step's span is current while the step's body runs.

* ``_set_config_context`` (langchain-core, and LangGraph's copy): LangChain calls it inside a context it copied
  for one step (``ctx.run(_set_config_context, config)``) and then runs the step's body, its coroutine task or
  each ``next()`` of its iterator in that copy. The copy is dropped when the step is done, exactly like the
  config value LangChain sets there, so making the step's span current in it needs no detach. This covers
  ``Runnable._call_with_config`` / ``_acall_with_config`` / ``_transform_stream_with_config``, sequences,
  ``RunnableParallel`` threads, fallbacks, ``BaseTool.run/arun`` and LangGraph nodes.
* Model calls, which LangChain runs without such a context: ``_generate_with_cache`` /
  ``_agenerate_with_cache`` (chat models) and ``_generate_helper`` / ``_agenerate_helper`` (text LLMs) attach
  the model run's span and detach it in the same frame. ``stream`` runs each ``next()`` in a context of its own
  (a copy of the caller's, made at the first ``next()``, as LangChain does for every runnable's stream) where the
  model's span is current; ``astream`` attaches and detaches around each ``__anext__()``. A stream starts its
  run inside its first ``next()``, so the stream wrappers pick the run id
  up front (``config["run_id"]``, a documented LangChain option) and make current a stand-in span that
  resolves to that run's span as soon as it exists. Retrievers get the same treatment for ``invoke`` /
  ``ainvoke``.

Every wrapper is guarded: if lc_otel's part fails, the original runs untouched and the error is logged once.
Every wrapper checks :data:`lc_otel._propagation.state.active` first, so one left in place after ``uninstall``
(because someone wrapped it in turn) passes calls straight through.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from typing import Any

from lc_otel._attributes.tags_metadata import is_mapping
from lc_otel._internal_errors import report_internal_error
from lc_otel._propagation import state
from lc_otel._propagation.attach import (
    attach_context,
    attach_manager,
    pending_context,
    safe_detach,
    stream_context,
)
from lc_otel._propagation.lookup import context_of_run
from lc_otel._tracing import fast_context


def wrap_set_config_context(original: Callable[..., Any]) -> Callable[..., Any]:
    """``_set_config_context(config, ...)``: also make the run in ``config["callbacks"]`` current."""

    @functools.wraps(original)
    def wrapper(config: Any, *args: Any, **kwargs: Any) -> Any:
        # LangChain passes the config alone: a direct call is cheaper than spreading empty *args and **kwargs,
        # and this runs for every step of every chain.
        result = original(config, *args, **kwargs) if args or kwargs else original(config)
        if state.active:
            try:
                # A RunnableConfig is a plain dict; anything else that is a mapping is read the slow way.
                callbacks = config.get("callbacks") if type(config) is dict or is_mapping(config) else None
                run_id = getattr(callbacks, "parent_run_id", None)
                context = context_of_run(run_id) if run_id is not None else None
                if context is not None:
                    # No detach: LangChain runs this inside a context it copied for this step and drops with
                    # it (the config value it sets just above is never reset in that copy either, in 0.3).
                    fast_context.attach(context)
            except Exception as error:  # noqa: BLE001
                report_internal_error("_set_config_context", error)
        return result

    return wrapper


def _arg(args: tuple[Any, ...], kwargs: Mapping[str, Any], name: str, position: int) -> Any:
    if name in kwargs:
        return kwargs[name]
    return args[position] if len(args) > position else None


def wrap_model_call(original: Callable[..., Any], manager_arg: str, position: int) -> Callable[..., Any]:
    """A sync model call that receives its run manager (or a list of them) as ``manager_arg``."""
    where = original.__qualname__

    @functools.wraps(original)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        manager = _arg(args, kwargs, manager_arg, position)
        if isinstance(manager, list):  # a batched text-LLM call: one HTTP call, only nest it if one run
            manager = manager[0] if len(manager) == 1 else None
        token = attach_manager(manager, where)
        try:
            return original(self, *args, **kwargs)
        finally:
            safe_detach(token, where)

    return wrapper


def wrap_amodel_call(original: Callable[..., Any], manager_arg: str, position: int) -> Callable[..., Any]:
    """The async twin of :func:`wrap_model_call`; attach and detach happen in the same task."""
    where = original.__qualname__

    @functools.wraps(original)
    async def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        manager = _arg(args, kwargs, manager_arg, position)
        if isinstance(manager, list):
            manager = manager[0] if len(manager) == 1 else None
        token = attach_manager(manager, where)
        try:
            return await original(self, *args, **kwargs)
        finally:
            safe_detach(token, where)

    return wrapper


@functools.cache
def _run_id_factory() -> Callable[[], uuid.UUID]:
    """LangChain's own run id generator (uuid7, time-ordered) where it has one, else ``uuid4``."""
    try:
        from langchain_core.utils.uuid import uuid7
    except ImportError:
        return uuid.uuid4
    return uuid7


def _with_run_id(config: Any) -> tuple[Any, uuid.UUID | None]:
    """Return a config carrying a run id (the caller's, or a new one) and that id.

    The config stays partial: ``stream`` completes it with ``ensure_config`` itself, exactly as it would have.
    """
    if not state.active:
        return config, None
    try:
        if config is None:
            run_id = _run_id_factory()()
            return {"run_id": run_id}, run_id
        if not is_mapping(config):  # not a config LangChain accepts: leave it to LangChain
            return config, None
        chosen: object = config.get("run_id")
        if chosen is None:
            run_id = _run_id_factory()()
            return {**config, "run_id": run_id}, run_id
        if not isinstance(chosen, uuid.UUID):  # something we do not understand: leave it to LangChain
            return config, None
        return config, chosen
    except Exception as error:  # noqa: BLE001
        report_internal_error("stream run id", error)
        return config, None


def wrap_stream(original: Callable[..., Iterator[Any]]) -> Callable[..., Iterator[Any]]:
    """``stream(input, config=None, **kwargs)``: the run's span is current during each ``next()``."""
    where = original.__qualname__

    @functools.wraps(original)
    def wrapper(self: Any, input: Any, config: Any = None, **kwargs: Any) -> Iterator[Any]:
        config, run_id = _with_run_id(config)
        iterator = original(self, input, config, **kwargs)
        context = stream_context(run_id, where)
        try:
            if context is None:
                yield from iterator
                return
            # The hot loop of every stream. Each next() runs in the stream's own context, where the model's
            # span is current, the way LangChain runs every runnable's stream (_transform_stream_with_config):
            # one C call per chunk, where attaching and detaching around it took three.
            step = context.run
            while True:
                try:
                    item = step(next, iterator)
                except StopIteration:
                    return
                yield item
        finally:
            close = getattr(iterator, "close", None)
            if close is not None:
                close()

    return wrapper


def wrap_astream(original: Callable[..., AsyncIterator[Any]]) -> Callable[..., AsyncIterator[Any]]:
    """``astream(input, config=None, **kwargs)``: the run's span is current during each ``__anext__()``."""
    where = original.__qualname__

    @functools.wraps(original)
    async def wrapper(self: Any, input: Any, config: Any = None, **kwargs: Any) -> AsyncIterator[Any]:
        config, run_id = _with_run_id(config)
        iterator = original(self, input, config, **kwargs)
        context = pending_context(run_id, where)
        try:
            while True:
                token = attach_context(context, where)
                try:
                    item = await iterator.__anext__()
                except StopAsyncIteration:
                    return
                finally:
                    safe_detach(token, where)
                yield item
        finally:
            aclose = getattr(iterator, "aclose", None)
            if aclose is not None:
                await aclose()

    return wrapper


def _retriever_run_id(kwargs: dict[str, Any]) -> uuid.UUID | None:
    """Retrievers take their run id from ``kwargs["run_id"]``; pick one up front when the caller did not."""
    if not state.active:
        return None
    run_id = kwargs.get("run_id")
    if run_id is None:
        run_id = kwargs["run_id"] = _run_id_factory()()
    return run_id if isinstance(run_id, uuid.UUID) else None


def wrap_retriever_invoke(original: Callable[..., Any]) -> Callable[..., Any]:
    """``BaseRetriever.invoke``: the retriever run's span is current while it runs."""
    where = original.__qualname__

    @functools.wraps(original)
    def wrapper(self: Any, input: Any, config: Any = None, **kwargs: Any) -> Any:
        token = attach_context(pending_context(_retriever_run_id(kwargs), where), where)
        try:
            return original(self, input, config, **kwargs)
        finally:
            safe_detach(token, where)

    return wrapper


def wrap_retriever_ainvoke(original: Callable[..., Any]) -> Callable[..., Any]:
    """``BaseRetriever.ainvoke``: the async twin of :func:`wrap_retriever_invoke`."""
    where = original.__qualname__

    @functools.wraps(original)
    async def wrapper(self: Any, input: Any, config: Any = None, **kwargs: Any) -> Any:
        token = attach_context(pending_context(_retriever_run_id(kwargs), where), where)
        try:
            return await original(self, input, config, **kwargs)
        finally:
            safe_detach(token, where)

    return wrapper


__all__ = [
    "wrap_amodel_call",
    "wrap_astream",
    "wrap_model_call",
    "wrap_retriever_ainvoke",
    "wrap_retriever_invoke",
    "wrap_set_config_context",
    "wrap_stream",
]

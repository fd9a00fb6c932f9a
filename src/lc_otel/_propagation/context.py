"""Make the running LangChain step's span the current OpenTelemetry span while the step's own code runs.

The handler parents spans explicitly and never attaches a context in a callback: a context attached in
``on_*_start`` cannot be detached in ``on_*_end`` (a shielded task, an executor thread or an interleaved stream
runs the end event in another context). Spans that *other* code creates inside a step (httpx instrumentation, a
user's ``start_as_current_span`` in a tool) would then hang off the caller's span instead of the step's.

This module fixes that at the few places where LangChain itself runs a step's body, with a context that
lives exactly as long as the body:

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
:func:`install` is idempotent, :func:`uninstall` restores the originals (or, if someone wrapped them after us,
turns our wrappers into pass-throughs).
"""

from __future__ import annotations

import contextvars
import dataclasses
import functools
import importlib
import importlib.util
import sys
import threading
import uuid
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from types import ModuleType
from typing import Any, Final

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Span, SpanContext, Status, StatusCode
from opentelemetry.util import types
from wrapt import register_post_import_hook

from lc_otel._attributes.tags_metadata import is_mapping
from lc_otel._internal_errors import report_internal_error
from lc_otel._propagation import fast_context as _current
from lc_otel._settings import env_bool
from lc_otel._tracing import handler_registry as _owners

LC_OTEL_PROPAGATE_CONTEXT: Final = "LC_OTEL_PROPAGATE_CONTEXT"
"""``true``/``false``: make a LangChain step's span current while the step runs. Default ``true``."""

_WRAPPED: Final = "__lc_otel_wrapped__"

_lock = threading.RLock()  # re-entrant: an import inside install() may run a post-import hook
_active = False
_decided: bool | None = None
"""``True``/``False`` once :func:`install` / :func:`uninstall` was called explicitly; ``None`` before."""


# --- finding a run's span ---------------------------------------------------------------------------------


def span_of_run(run_id: uuid.UUID | None) -> Span | None:
    """Return the span an lc_otel handler keeps for the open run ``run_id``, if any."""
    context = context_of_run(run_id)
    return trace.get_current_span(context) if context is not None else None


def context_of_run(run_id: object) -> otel_context.Context | None:
    """Return the context in which a step of the open run ``run_id`` runs: its span current.

    Every lc_otel handler registers itself (see ``_owners``) and a run is traced by one of them, so asking
    the registered handlers finds it whichever callback manager the step was given: usually one handler, one
    dictionary lookup, and a context the run made once.
    """
    if not isinstance(run_id, uuid.UUID):
        return None
    for ref in _owners.registered():
        handler = ref()
        if handler is None:
            continue
        try:
            context = handler.context_for(run_id)
        except Exception as error:  # noqa: BLE001 - one broken handler (a subclass) must not hide the others
            report_internal_error("context_of_run", error)
            continue
        if context is not None:
            return context
    return None


class _RunSpan(Span):
    """Stands for the span of a run that may not have started yet.

    A stream starts its model run inside its first ``next()``, after the wrapper had to make something current.
    Until the run's span exists (and again once it ended) this behaves as the span that was current before.
    """

    __slots__ = ("_fallback", "_run_id")

    def __init__(self, run_id: uuid.UUID, fallback: Span) -> None:
        self._run_id = run_id
        self._fallback = fallback

    def _target(self) -> Span:
        try:
            span = span_of_run(self._run_id)
        except Exception as error:  # noqa: BLE001 - never raise into whoever asked for the current span
            report_internal_error("_RunSpan", error)
            span = None
        return span if span is not None else self._fallback

    def get_span_context(self) -> SpanContext:
        return self._target().get_span_context()

    def is_recording(self) -> bool:
        return self._target().is_recording()

    def end(self, end_time: int | None = None) -> None:
        self._target().end(end_time)

    def set_attributes(self, attributes: Mapping[str, types.AttributeValue]) -> None:
        self._target().set_attributes(attributes)

    def set_attribute(self, key: str, value: types.AttributeValue) -> None:
        self._target().set_attribute(key, value)

    def add_event(self, name: str, attributes: types.Attributes = None, timestamp: int | None = None) -> None:
        self._target().add_event(name, attributes, timestamp)

    def add_link(self, context: SpanContext, attributes: types.Attributes = None) -> None:
        self._target().add_link(context, attributes)

    def update_name(self, name: str) -> None:
        self._target().update_name(name)

    def set_status(self, status: Status | StatusCode, description: str | None = None) -> None:
        self._target().set_status(status, description)

    def record_exception(
        self,
        exception: BaseException,
        attributes: types.Attributes = None,
        timestamp: int | None = None,
        escaped: bool = False,
    ) -> None:
        self._target().record_exception(exception, attributes, timestamp, escaped)


# --- making a span current ----------------------------------------------------------------------------------


def _stream_context(run_id: uuid.UUID | None, where: str) -> contextvars.Context | None:
    """A copy of the caller's context with a stand-in for ``run_id``'s span current, to run a stream in."""
    current = _pending_context(run_id, where)
    if current is None:
        return None
    try:
        context = contextvars.copy_context()
        context.run(_current.attach, current)
    except Exception as error:  # noqa: BLE001
        report_internal_error(where, error)
        return None
    return context


def _attach_context(context: otel_context.Context | None, where: str) -> object | None:
    """Make ``context`` current; return the token to detach in the same frame (``None``: nothing attached)."""
    if context is None:
        return None
    try:
        return _current.attach(context)
    except Exception as error:  # noqa: BLE001
        report_internal_error(where, error)
        return None


def _safe_detach(token: object | None, where: str) -> None:
    if token is None:
        return
    try:
        _current.detach(token)
    except Exception as error:  # noqa: BLE001 - a token reset in another context: log, never raise
        report_internal_error(where, error)


def _attach_manager(manager: Any, where: str) -> object | None:
    """Attach the context of a run manager's run; ``None`` when there is none or lc_otel's part failed."""
    if not _active:
        return None
    try:
        context = context_of_run(getattr(manager, "run_id", None))
        return _current.attach(context) if context is not None else None
    except Exception as error:  # noqa: BLE001 - fall back to the original behaviour
        report_internal_error(where, error)
        return None


def _pending_context(run_id: uuid.UUID | None, where: str) -> otel_context.Context | None:
    """A context whose current span stands for ``run_id``'s span; built once per stream or call."""
    if run_id is None or not _active:
        return None
    try:
        return trace.set_span_in_context(_RunSpan(run_id, trace.get_current_span()))
    except Exception as error:  # noqa: BLE001
        report_internal_error(where, error)
        return None


# --- the wrappers -------------------------------------------------------------------------------------------


def _wrap_set_config_context(original: Callable[..., Any]) -> Callable[..., Any]:
    """``_set_config_context(config, ...)``: also make the run in ``config["callbacks"]`` current."""

    @functools.wraps(original)
    def wrapper(config: Any, *args: Any, **kwargs: Any) -> Any:
        # LangChain passes the config alone: a direct call is cheaper than spreading empty *args and **kwargs,
        # and this runs for every step of every chain.
        result = original(config, *args, **kwargs) if args or kwargs else original(config)
        if _active:
            try:
                # A RunnableConfig is a plain dict; anything else that is a mapping is read the slow way.
                callbacks = config.get("callbacks") if type(config) is dict or is_mapping(config) else None
                run_id = getattr(callbacks, "parent_run_id", None)
                context = context_of_run(run_id) if run_id is not None else None
                if context is not None:
                    # No detach: LangChain runs this inside a context it copied for this step and drops with
                    # it (the config value it sets just above is never reset in that copy either, in 0.3).
                    _current.attach(context)
            except Exception as error:  # noqa: BLE001
                report_internal_error("_set_config_context", error)
        return result

    return wrapper


def _arg(args: tuple[Any, ...], kwargs: Mapping[str, Any], name: str, position: int) -> Any:
    if name in kwargs:
        return kwargs[name]
    return args[position] if len(args) > position else None


def _wrap_model_call(original: Callable[..., Any], manager_arg: str, position: int) -> Callable[..., Any]:
    """A sync model call that receives its run manager (or a list of them) as ``manager_arg``."""
    where = original.__qualname__

    @functools.wraps(original)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        manager = _arg(args, kwargs, manager_arg, position)
        if isinstance(manager, list):  # a batched text-LLM call: one HTTP call, only nest it if one run
            manager = manager[0] if len(manager) == 1 else None
        token = _attach_manager(manager, where)
        try:
            return original(self, *args, **kwargs)
        finally:
            _safe_detach(token, where)

    return wrapper


def _wrap_amodel_call(original: Callable[..., Any], manager_arg: str, position: int) -> Callable[..., Any]:
    """The async twin of :func:`_wrap_model_call`; attach and detach happen in the same task."""
    where = original.__qualname__

    @functools.wraps(original)
    async def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        manager = _arg(args, kwargs, manager_arg, position)
        if isinstance(manager, list):
            manager = manager[0] if len(manager) == 1 else None
        token = _attach_manager(manager, where)
        try:
            return await original(self, *args, **kwargs)
        finally:
            _safe_detach(token, where)

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
    if not _active:
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


def _wrap_stream(original: Callable[..., Iterator[Any]]) -> Callable[..., Iterator[Any]]:
    """``stream(input, config=None, **kwargs)``: the run's span is current during each ``next()``."""
    where = original.__qualname__

    @functools.wraps(original)
    def wrapper(self: Any, input: Any, config: Any = None, **kwargs: Any) -> Iterator[Any]:
        config, run_id = _with_run_id(config)
        iterator = original(self, input, config, **kwargs)
        context = _stream_context(run_id, where)
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


def _wrap_astream(original: Callable[..., AsyncIterator[Any]]) -> Callable[..., AsyncIterator[Any]]:
    """``astream(input, config=None, **kwargs)``: the run's span is current during each ``__anext__()``."""
    where = original.__qualname__

    @functools.wraps(original)
    async def wrapper(self: Any, input: Any, config: Any = None, **kwargs: Any) -> AsyncIterator[Any]:
        config, run_id = _with_run_id(config)
        iterator = original(self, input, config, **kwargs)
        context = _pending_context(run_id, where)
        try:
            while True:
                token = _attach_context(context, where)
                try:
                    item = await iterator.__anext__()
                except StopAsyncIteration:
                    return
                finally:
                    _safe_detach(token, where)
                yield item
        finally:
            aclose = getattr(iterator, "aclose", None)
            if aclose is not None:
                await aclose()

    return wrapper


def _retriever_run_id(kwargs: dict[str, Any]) -> uuid.UUID | None:
    """Retrievers take their run id from ``kwargs["run_id"]``; pick one up front when the caller did not."""
    if not _active:
        return None
    run_id = kwargs.get("run_id")
    if run_id is None:
        run_id = kwargs["run_id"] = _run_id_factory()()
    return run_id if isinstance(run_id, uuid.UUID) else None


def _wrap_retriever_invoke(original: Callable[..., Any]) -> Callable[..., Any]:
    where = original.__qualname__

    @functools.wraps(original)
    def wrapper(self: Any, input: Any, config: Any = None, **kwargs: Any) -> Any:
        token = _attach_context(_pending_context(_retriever_run_id(kwargs), where), where)
        try:
            return original(self, input, config, **kwargs)
        finally:
            _safe_detach(token, where)

    return wrapper


def _wrap_retriever_ainvoke(original: Callable[..., Any]) -> Callable[..., Any]:
    where = original.__qualname__

    @functools.wraps(original)
    async def wrapper(self: Any, input: Any, config: Any = None, **kwargs: Any) -> Any:
        token = _attach_context(_pending_context(_retriever_run_id(kwargs), where), where)
        try:
            return await original(self, input, config, **kwargs)
        finally:
            _safe_detach(token, where)

    return wrapper


# --- the patch table ----------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class _Target:
    module: str
    owner: str | None
    """A class in ``module``, or ``None`` for a module-level function."""
    name: str
    wrap: Callable[[Callable[..., Any]], Callable[..., Any]]
    when_imported: bool = False
    """Patch only once the application imports ``module``, never import it: importing LangGraph costs a
    process that does not use it some 40,000 objects, which every full garbage collection then walks."""


_TARGETS: Final = (
    _Target("langchain_core.runnables.config", None, "_set_config_context", _wrap_set_config_context),
    # LangGraph runs its nodes with its own copy of the same helper (1.x: _internal._runnable, 0.x: utils.runnable).
    _Target("langgraph._internal._runnable", None, "_set_config_context", _wrap_set_config_context, True),
    _Target("langgraph.utils.runnable", None, "_set_config_context", _wrap_set_config_context, True),
    _Target(
        "langchain_core.language_models.chat_models",
        "BaseChatModel",
        "_generate_with_cache",
        lambda f: _wrap_model_call(f, "run_manager", 2),
    ),
    _Target(
        "langchain_core.language_models.chat_models",
        "BaseChatModel",
        "_agenerate_with_cache",
        lambda f: _wrap_amodel_call(f, "run_manager", 2),
    ),
    _Target("langchain_core.language_models.chat_models", "BaseChatModel", "stream", _wrap_stream),
    _Target("langchain_core.language_models.chat_models", "BaseChatModel", "astream", _wrap_astream),
    _Target(
        "langchain_core.language_models.llms",
        "BaseLLM",
        "_generate_helper",
        lambda f: _wrap_model_call(f, "run_managers", 2),
    ),
    _Target(
        "langchain_core.language_models.llms",
        "BaseLLM",
        "_agenerate_helper",
        lambda f: _wrap_amodel_call(f, "run_managers", 2),
    ),
    _Target("langchain_core.language_models.llms", "BaseLLM", "stream", _wrap_stream),
    _Target("langchain_core.language_models.llms", "BaseLLM", "astream", _wrap_astream),
    _Target("langchain_core.retrievers", "BaseRetriever", "invoke", _wrap_retriever_invoke),
    _Target("langchain_core.retrievers", "BaseRetriever", "ainvoke", _wrap_retriever_ainvoke),
)


@dataclasses.dataclass(frozen=True)
class _Applied:
    holder: Any
    name: str
    original: Any
    wrapper: Any


_applied: list[_Applied] = []


_hooked: set[str] = set()
"""Modules with a post-import hook registered (a hook cannot be removed; it checks ``_active``)."""


def _apply(target: _Target) -> _Applied | None:
    module = sys.modules.get(target.module)
    if module is None and target.when_imported:
        _patch_when_imported(target)
        return None
    if module is None:
        try:
            module = importlib.import_module(target.module)
        except ImportError:  # a LangChain version without this module
            return None
    return _apply_to(module, target)


def _patch_when_imported(target: _Target) -> None:
    if target.module in _hooked:
        return
    top = target.module.partition(".")[0]
    try:
        if importlib.util.find_spec(top) is None:  # not installed: nothing to wait for
            return
    except (ImportError, ValueError):
        return

    def hook(module: ModuleType) -> None:
        with _lock:
            if not _active:  # uninstalled since: leave the module alone
                return
            try:
                applied = _apply_to(module, target)
            except Exception as error:  # noqa: BLE001 - never break the application's import
                report_internal_error("propagate_context install", error)
                return
            if applied is not None:
                _applied.append(applied)

    register_post_import_hook(hook, target.module)
    _hooked.add(target.module)


def _apply_to(module: ModuleType, target: _Target) -> _Applied | None:
    holder: Any = module if target.owner is None else getattr(module, target.owner, None)
    original = holder.__dict__.get(target.name) if holder is not None else None
    if original is None or not callable(original):
        return None
    if getattr(original, _WRAPPED, False):  # already ours (a reload, or a second copy of lc_otel)
        return None
    wrapper = target.wrap(original)
    setattr(wrapper, _WRAPPED, True)
    setattr(holder, target.name, wrapper)
    return _Applied(holder, target.name, original, wrapper)


def install() -> bool:
    """Patch LangChain so a step's span is current while the step runs. Idempotent.

    Returns:
        Whether propagation is on. Any failure leaves LangChain as it was and logs once.
    """
    global _active, _decided  # noqa: PLW0603 - process-wide by nature
    with _lock:
        _decided = True
        if not _applied:
            try:
                for target in _TARGETS:
                    applied = _apply(target)
                    if applied is not None:
                        _applied.append(applied)
            except Exception as error:  # noqa: BLE001 - undo a half-done install, carry on untraced
                report_internal_error("propagate_context install", error)
                _restore()
                _active = False
                return False
        _active = bool(_applied)
        return _active


def _restore() -> None:
    while _applied:
        applied = _applied.pop()
        # Put the original back only if nobody wrapped ours since; otherwise ours stays, as a pass-through.
        if applied.holder.__dict__.get(applied.name) is applied.wrapper:
            setattr(applied.holder, applied.name, applied.original)


def uninstall() -> None:
    """Undo :func:`install`: LangChain behaves as if lc_otel had never patched it."""
    global _active, _decided  # noqa: PLW0603
    with _lock:
        _decided = False
        _active = False
        try:
            _restore()
        except Exception as error:  # noqa: BLE001
            report_internal_error("propagate_context uninstall", error)


def is_installed() -> bool:
    """Whether a step's span is made current while the step runs."""
    return _active


def install_by_default() -> bool:
    """Install unless told not to: by :func:`uninstall` or ``LC_OTEL_PROPAGATE_CONTEXT=false``.

    Called when a handler is created, so a handler passed explicitly nests other libraries' spans too.
    """
    if _decided is not None:
        return _active
    if not env_bool(LC_OTEL_PROPAGATE_CONTEXT, True):
        return False
    return install()


def reset() -> None:
    """Uninstall and forget any explicit decision (for tests)."""
    global _decided  # noqa: PLW0603
    uninstall()
    _decided = None


__all__ = [
    "LC_OTEL_PROPAGATE_CONTEXT",
    "install",
    "install_by_default",
    "is_installed",
    "reset",
    "span_of_run",
    "uninstall",
]

"""Patching LangChain so a step's span is current while the step runs, and undoing it.

:func:`install` is idempotent, :func:`uninstall` restores the originals (or, if someone wrapped them after us,
turns our wrappers into pass-throughs). Modules that are patched only once the application imports them
(LangGraph) get a post-import hook, which cannot be removed and so checks whether propagation is still on.
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.util
import sys
import threading
from types import ModuleType
from typing import Any, Final

from wrapt import register_post_import_hook

from lc_otel._internal_errors import report_internal_error
from lc_otel._propagation import state
from lc_otel._propagation.targets import TARGETS, Target
from lc_otel._settings import env_bool

LC_OTEL_PROPAGATE_CONTEXT: Final = "LC_OTEL_PROPAGATE_CONTEXT"
"""``true``/``false``: make a LangChain step's span current while the step runs. Default ``true``."""

_WRAPPED: Final = "__lc_otel_wrapped__"

_lock = threading.RLock()  # re-entrant: an import inside install() may run a post-import hook
_decided: bool | None = None
"""``True``/``False`` once :func:`install` / :func:`uninstall` was called explicitly; ``None`` before."""


@dataclasses.dataclass(frozen=True)
class _Applied:
    holder: Any
    name: str
    original: Any
    wrapper: Any


_applied: list[_Applied] = []


_hooked: set[str] = set()
"""Modules with a post-import hook registered (a hook cannot be removed; it checks ``state.active``)."""


def _apply(target: Target) -> _Applied | None:
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


def _patch_when_imported(target: Target) -> None:
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
            if not state.active:  # uninstalled since: leave the module alone
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


def _apply_to(module: ModuleType, target: Target) -> _Applied | None:
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
    global _decided  # noqa: PLW0603 - process-wide by nature
    with _lock:
        _decided = True
        if not _applied:
            try:
                for target in TARGETS:
                    applied = _apply(target)
                    if applied is not None:
                        _applied.append(applied)
            except Exception as error:  # noqa: BLE001 - undo a half-done install, carry on untraced
                report_internal_error("propagate_context install", error)
                _restore()
                state.active = False
                return False
        state.active = bool(_applied)
        return state.active


def _restore() -> None:
    while _applied:
        applied = _applied.pop()
        # Put the original back only if nobody wrapped ours since; otherwise ours stays, as a pass-through.
        if applied.holder.__dict__.get(applied.name) is applied.wrapper:
            setattr(applied.holder, applied.name, applied.original)


def uninstall() -> None:
    """Undo :func:`install`: LangChain behaves as if lc_otel had never patched it."""
    global _decided  # noqa: PLW0603
    with _lock:
        _decided = False
        state.active = False
        try:
            _restore()
        except Exception as error:  # noqa: BLE001
            report_internal_error("propagate_context uninstall", error)


def is_installed() -> bool:
    """Whether a step's span is made current while the step runs."""
    return state.active


def install_by_default() -> bool:
    """Install unless told not to: by :func:`uninstall` or ``LC_OTEL_PROPAGATE_CONTEXT=false``.

    Called when a handler is created, so a handler passed explicitly nests other libraries' spans too.
    """
    if _decided is not None:
        return state.active
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
    "uninstall",
]

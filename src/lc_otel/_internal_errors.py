"""Keep lc_otel's own failures away from the application.

Whatever lc_otel runs inside the application (the tracing handler's callbacks, the context-propagation
wrappers, ``configure()``) catches its own exceptions and hands them to :func:`report_internal_error`: each
callback in a ``try`` of its own, so the hot path pays no extra call; :func:`guarded` wraps a whole function
where that cost does not matter (the token-usage handler). An internal error is logged once per kind on the
``lc_otel`` logger and swallowed: the chain goes on, with less telemetry.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import threading
from collections.abc import Callable
from typing import Any, Final, TypeVar, cast

logger: Final = logging.getLogger("lc_otel")

_F = TypeVar("_F", bound=Callable[..., Any])

_seen_lock = threading.Lock()
_seen: set[tuple[str, str]] = set()
# A bound on the kinds remembered, so a pathological stream of distinct errors cannot grow memory.
_MAX_KINDS: Final = 256


def report_internal_error(where: str, error: BaseException) -> None:
    """Log ``error`` once per (place, exception type), never raising."""
    kind = (where, type(error).__qualname__)
    with _seen_lock:
        if kind in _seen or len(_seen) >= _MAX_KINDS:
            return
        _seen.add(kind)
    # A broken log handler must not break the host either.
    with contextlib.suppress(Exception):
        logger.warning(
            "lc_otel internal error in %s (%s: %s); your chain is unaffected, its telemetry may be incomplete",
            where,
            type(error).__name__,
            error,
            exc_info=error,
        )


def reset_reported_errors() -> None:
    """Forget which error kinds were logged, so they are logged again (for tests)."""
    with _seen_lock:
        _seen.clear()


def guarded(func: _F) -> _F:
    """Wrap ``func`` so that an exception it raises is reported and swallowed.

    The wrapper returns ``None`` after an internal error.
    """
    where = func.__qualname__

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except Exception as error:  # noqa: BLE001 - the whole point: never raise into the host
            report_internal_error(where, error)
            return None

    return cast("_F", wrapper)

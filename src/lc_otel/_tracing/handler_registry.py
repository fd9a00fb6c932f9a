"""Which handler traces a run, when more than one receives it.

With :func:`lc_otel.instrument` on, the process-wide handler is inherited by every child run, and a model or
chain built with ``callbacks=[another_handler]`` hands that run to both. LangChain calls inherited handlers
first, so the first handler to start a run owns it: it also holds the run's parents, so the tree stays whole,
and the others skip the run. One span per run.
"""

from __future__ import annotations

import threading
import weakref
from typing import Protocol
from uuid import UUID

from opentelemetry.context import Context


class _Tracks(Protocol):
    def tracks(self, run_id: UUID) -> bool: ...

    def context_for(self, run_id: UUID) -> Context | None: ...


_lock = threading.Lock()
# Copy-on-write, so the lookup on every run start iterates a snapshot without taking the lock.
_live: tuple[weakref.ReferenceType[_Tracks], ...] = ()


def register(handler: _Tracks) -> None:
    """Remember ``handler`` (weakly) as a handler that may receive the same runs as others."""
    global _live  # noqa: PLW0603 - the registry is process-wide by nature
    with _lock:
        _live = (*(ref for ref in _live if ref() is not None), weakref.ref(handler))


def traced_elsewhere(handler: _Tracks, run_id: UUID) -> bool:
    """Whether a handler other than ``handler`` already traces ``run_id``."""
    live = _live
    if len(live) < 2:  # the common case, one handler in the process: it is ``handler``
        return False
    for ref in live:
        other = ref()
        if other is not None and other is not handler and other.tracks(run_id):
            return True
    return False


def registered() -> tuple[weakref.ReferenceType[_Tracks], ...]:
    """Weak references to every registered handler, oldest first (dead ones included): the cheapest walk."""
    return _live


def forget_all(keep: _Tracks | None = None) -> None:
    """Forget every handler but ``keep`` (for :func:`lc_otel.testing.reset`: a clean slate between tests)."""
    global _live  # noqa: PLW0603
    with _lock:
        _live = tuple(ref for ref in _live if keep is not None and ref() is keep)

"""The table of open LangChain runs: run id → span, parent links, bounded in count and age.

All mutation happens under one lock, in short critical sections of dictionary work; spans are started and
ended by the caller, outside the lock. Nothing here calls back into user code.
"""

from __future__ import annotations

import dataclasses
import threading
import weakref
from collections.abc import Sequence
from typing import TYPE_CHECKING, Final
from uuid import UUID

from opentelemetry.context import Context
from opentelemetry.trace import Span, SpanContext, set_span_in_context

from lc_otel._attributes.usage import Usage
from lc_otel._tracing.handler_registry import OWNER_OF, Owner, RunKey, Tracks, run_key

if TYPE_CHECKING:
    from lc_otel._metrics.run_telemetry import RunTelemetry

_ENDED_PER_GENERATION: Final = 2048
"""Ended runs remembered so that a child starting after its parent ended still finds it: the last 2,048 at
least, 4,096 at most (two generations of this many)."""


@dataclasses.dataclass(eq=False, slots=True)
class Run:
    """What lc_otel keeps about one open run between its start and end events."""

    run_id: UUID
    key: RunKey
    """``run_key(run_id)``."""
    span: Span
    parent: Run | None
    run_type: str
    started: float
    """``time.monotonic()`` at start, for eviction by age."""
    caller_context: Context
    """The context current when the run started: the context the run's own body runs in."""
    context: Context | None = None
    """``caller_context`` with this run's span current, made on first use (see :func:`run_context`)."""
    run_id_text: str = ""
    """``str(run_id)``, kept so children need not format their parent's id again."""
    started_ns: int = 0
    """``time.time_ns()`` at start, for time to first chunk."""
    agent_name: str | None = None
    """The LangChain agent (``lc_agent_name``) this run belongs to."""
    operation: str | None = None
    """``invoke_agent`` or ``invoke_workflow`` once a chain run is known to be one (``None``: a plain chain)."""
    children: set[Run] | None = None
    """Open child runs, created on the first child."""
    subtree_usage: Usage | None = None
    """Tokens of the model calls below this run, for chain and agent spans."""
    first_chunk_ns: int = 0
    chunk_count: int = 0
    is_open: bool = True
    """``False`` once the table stopped tracking the run."""
    telemetry: RunTelemetry | None = None
    """What the GenAI metrics and events keep of a measured run (see ``lc_otel._metrics``)."""


def run_context(run: Run) -> Context:
    """Return the context with ``run``'s span current: its children's parent, and what its body runs in.

    Made once per run, when first needed, from the context the run started in: LangChain runs a step's body
    in a copy of the context its start event was sent from, so this is that context with the span added.
    """
    context = run.context
    if context is None:
        context = run.context = set_span_in_context(run.span, run.caller_context)
    return context


class RunTable:
    """Open runs by run id, oldest first, with a bounded memory of recently ended ones.

    Args:
        max_open: Open runs at most; starting one more evicts the oldest.
        max_age: Seconds a run may stay open before it is evicted.
        owner: The handler this table belongs to: every open run is claimed for it (weakly) in the
            process-wide :data:`~lc_otel._tracing.handler_registry.OWNER_OF`, and a run another handler
            claimed first is not added. ``None``: a table of its own, not in the registry.
    """

    def __init__(self, *, max_open: int, max_age: float, owner: Tracks | None = None) -> None:
        self._lock = threading.Lock()
        # If the handler is collected with runs still open, the callback drops their claims.
        self._owner: Owner | None = weakref.ref(owner, self._release) if owner is not None else None
        # Plain dicts keep insertion order, which is start order: the oldest open run comes first.
        self.by_key: dict[RunKey, Run] = {}
        """The open runs by :func:`run_key`. Read it freely (one lookup is atomic); change it only through
        the methods, under the lock."""
        # Ended runs in two generations: when the newer one is full it becomes the older one and the older one is
        # dropped whole. One dictionary store per end, and the memory is bounded (see _ENDED_PER_GENERATION).
        self._ended: dict[RunKey, SpanContext] = {}
        self._ended_before: dict[RunKey, SpanContext] = {}
        self.max_open = max_open
        self.max_age = max_age
        # Sweeping for age at most a few times per max_age keeps starts O(1) and the age bound tight.
        self._sweep_every = min(1.0, max_age / 4)
        self._next_sweep = 0.0

    def __len__(self) -> int:
        return len(self.by_key)

    def get(self, run_id: UUID) -> Run | None:
        """Return the open run ``run_id``, if any."""
        return self.by_key.get(getattr(run_id, "int", run_id))  # run_key(run_id), inline

    def ended(self, run_id: UUID) -> SpanContext | None:
        """Return the span context of ``run_id`` if it is one of the recently ended runs (for late children)."""
        key = run_key(run_id)
        # Lock-free: the generations are swapped by one assignment, and the newer one is read first.
        context = self._ended.get(key)
        return context if context is not None else self._ended_before.get(key)

    def add(self, run: Run) -> Sequence[Run] | None:
        """Track ``run`` and link it to its open parent.

        Returns:
            ``None`` when the run id is already open, here or in another handler (the new start is to be
            dropped), else the runs evicted to make room or for age, usually none, which the caller must end.
        """
        evicted: Sequence[Run] = ()
        with self._lock:
            open_runs = self.by_key
            if open_runs.setdefault(run.key, run) is not run:
                return None
            owner = self._owner
            if owner is not None and OWNER_OF.setdefault(run.key, owner) is not owner:
                del open_runs[run.key]  # another handler started it first and traces it
                return None
            parent = run.parent
            if parent is not None and parent.is_open:
                if parent.children is None:
                    parent.children = set()
                parent.children.add(run)
            if len(open_runs) > self.max_open or run.started >= self._next_sweep:
                evicted = self._evict_locked(run.started)
        return evicted

    def _evict_locked(self, now: float) -> list[Run]:
        evicted: list[Run] = []
        open_runs = self.by_key
        # Evicting the oldest run also evicts its open descendants, possibly the run just added.
        while len(open_runs) > self.max_open:
            evicted.extend(self._pop_locked(next(iter(open_runs))))
        if now >= self._next_sweep:
            self._next_sweep = now + self._sweep_every
            deadline = now - self.max_age
            stale: list[RunKey] = []
            for oldest in open_runs.values():
                if oldest.started >= deadline:
                    break
                stale.append(oldest.key)
            for key in stale:
                evicted.extend(self._pop_locked(key))
        return evicted

    def pop(self, run_id: UUID) -> Sequence[Run]:
        """Stop tracking ``run_id`` and its open descendants.

        Returns:
            The open descendants, deepest first, then the run itself last; empty when ``run_id`` is not open.
        """
        key = getattr(run_id, "int", run_id)  # run_key(run_id), inline
        with self._lock:
            return self._pop_locked(key)

    def _pop_locked(self, key: RunKey) -> Sequence[Run]:
        run = self.by_key.pop(key, None)
        if run is None:
            return ()
        run.is_open = False
        if self._owner is not None:
            OWNER_OF.pop(key, None)  # ours: add() claimed it before tracking the run
        parent = run.parent
        if parent is not None and parent.children is not None:
            parent.children.discard(run)
        # The span's own context object: remembering it allocates nothing.
        ended = self._ended
        ended[key] = run.span.get_span_context()
        if len(ended) >= _ENDED_PER_GENERATION:
            self._ended_before = ended
            self._ended = {}
        children = run.children
        if not children:
            return (run,)
        run.children = None
        popped: list[Run] = []
        for child in list(children):
            popped.extend(self._pop_locked(child.key))
        popped.append(run)
        return popped

    def drain(self) -> list[Run]:
        """Stop tracking every open run and return them all, children before parents."""
        drained: list[Run] = []
        with self._lock:
            while self.by_key:
                drained.extend(self._pop_locked(next(iter(self.by_key))))
        return drained

    def _release(self, owner: Owner) -> None:
        """Drop this table's claims from the registry: its handler is gone (the weak reference's callback).

        Takes no lock: it runs during garbage collection, when nothing can use this table any more.
        """
        for key in list(self.by_key):
            if OWNER_OF.get(key) is owner:
                OWNER_OF.pop(key, None)

    def add_usage(self, run: Run, usage: Usage) -> None:
        """Add a model call's tokens to every open ancestor of ``run``."""
        with self._lock:
            ancestor = run.parent
            while ancestor is not None:
                if ancestor.subtree_usage is None:
                    ancestor.subtree_usage = Usage()
                ancestor.subtree_usage.add(usage)
                ancestor = ancestor.parent

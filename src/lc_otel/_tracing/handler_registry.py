"""Which handler traces a run, when more than one receives it, and finding a run's handler in one lookup.

With :func:`lc_otel.instrument` on, the process-wide handler is inherited by every child run, and a model or
chain built with ``callbacks=[another_handler]`` hands that run to both. LangChain calls inherited handlers
first, so the first handler to start a run owns it: it also holds the run's parents, so the tree stays whole,
and the others skip the run. One span per run.

Every open run of every handler is in :data:`OWNER_OF`, so both questions asked per run (is it traced
elsewhere? which handler holds its span?) cost one dictionary lookup, however many handlers are alive: a
service that creates a handler per request and keeps a thousand of them pays what a service with one does.
"""

from __future__ import annotations

import weakref
from typing import Final, Protocol
from uuid import UUID

from opentelemetry.context import Context

RunKey = int | UUID
"""How lc_otel keys a run in its tables: the run id's 128-bit integer."""


def run_key(run_id: UUID) -> RunKey:
    """Return the table key of ``run_id``.

    ``UUID.__hash__`` is Python code (``hash(self.int)``) while an int hashes in C, and every table operation
    hashes: keying by the integer makes each one several times cheaper. Anything that is not a ``UUID`` is
    its own key.

    The one definition. The lookups every event makes write its body out instead, each marked
    ``# run_key(run_id), inline``: there a Python call would cost about as much as the lookup it serves.
    """
    return getattr(run_id, "int", run_id)


class Tracks(Protocol):
    """What the registry asks of a handler."""

    def tracks(self, run_id: UUID) -> bool:
        """Whether the run ``run_id`` is open in this handler."""

    def context_for(self, run_id: UUID) -> Context | None:
        """The context a step of the open run ``run_id`` runs in (its span current), if any."""


Owner = weakref.ReferenceType[Tracks]
"""How :data:`OWNER_OF` names a handler: weakly, so a dropped handler is not kept alive by its open runs."""

OWNER_OF: Final[dict[RunKey, Owner]] = {}
"""Every open run of every handler, by :func:`run_key`, to the handler that traces it.

Claimed and released by each handler's run table (:class:`lc_otel._tracing.run_table.RunTable`) as its runs
start and end, with ``setdefault`` and ``pop``: one atomic dictionary operation each, so the first handler to
start a run owns it whichever thread gets there first."""


def owner(run_id: UUID) -> Tracks | None:
    """Return the handler that traces the open run ``run_id``, if any: one lookup."""
    ref = OWNER_OF.get(getattr(run_id, "int", run_id))  # run_key(run_id), inline
    return ref() if ref is not None else None

"""``RunTelemetry``: what the GenAI metrics and events keep of one measured run between its start and end."""

from __future__ import annotations

import dataclasses
from typing import Any, Final

from lc_otel._attributes import semconv as sc
from lc_otel._attributes.tags_metadata import Attributes

INFERENCE_OPERATIONS: Final = frozenset({sc.OP_CHAT, sc.OP_TEXT_COMPLETION})
"""The operations of a model call."""


@dataclasses.dataclass(eq=False, slots=True)
class RunTelemetry:
    """What a measured run keeps from its start until its end."""

    operation: str
    attributes: Attributes
    """The metric attributes known at start."""
    event_attributes: Attributes | None = None
    """The span's GenAI start attributes, for the inference details event (``None``: no event)."""
    system: list[dict[str, Any]] | None = None
    """System instructions, for the event."""
    inputs: list[dict[str, Any]] | None = None
    """Input messages, for the event."""

    @property
    def model(self) -> bool:
        """A model call: recorded when its response is read, not when it is popped."""
        return self.operation in INFERENCE_OPERATIONS

"""The one span record every source is parsed into."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import TypeAlias

AttrValue: TypeAlias = str | bool | int | float | list["AttrValue"] | dict[str, "AttrValue"] | None
"""An attribute value as read back: OTLP scalars, arrays and key-value lists."""

STATUS_UNSET = "UNSET"
STATUS_OK = "OK"
STATUS_ERROR = "ERROR"


@dataclasses.dataclass(frozen=True, kw_only=True)
class Span:
    """A finished span, whatever it was read from."""

    trace_id: str
    """Lowercase hex."""
    span_id: str
    """Lowercase hex."""
    parent_id: str | None
    """The parent's span id within the same trace, ``None`` for a root."""
    name: str
    kind: str = "INTERNAL"
    """``INTERNAL``, ``SERVER``, ``CLIENT``, ``PRODUCER``, ``CONSUMER`` or ``UNSPECIFIED``."""
    start_ns: int | None = None
    """Unix epoch nanoseconds; ``None`` when the source left it out."""
    end_ns: int | None = None
    status: str = STATUS_UNSET
    """``UNSET``, ``OK`` or ``ERROR``."""
    status_message: str = ""
    attributes: Mapping[str, AttrValue] = dataclasses.field(default_factory=dict)
    resource: Mapping[str, AttrValue] = dataclasses.field(default_factory=dict)
    scope: str = ""

    @property
    def service(self) -> str:
        """The resource's ``service.name``, or ``""``."""
        value = self.resource.get("service.name")
        return value if isinstance(value, str) else ""

    @property
    def duration_ns(self) -> int | None:
        """End minus start, when both are known."""
        if self.start_ns is None or self.end_ns is None:
            return None
        return max(0, self.end_ns - self.start_ns)

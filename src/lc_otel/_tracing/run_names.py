"""The names a run exports (span name, run name, model, tool, agent, ...), redacted and cut in one lookup.

Names are exported whatever the content setting, so every one goes through the redactor. A request's runs
share a few names, so all of a run's names are found with one cache lookup keyed by the names themselves.
"""

from __future__ import annotations

from typing import Any, Final

from lc_otel._attributes import semconv as sc
from lc_otel._attributes.redaction import Redactor
from lc_otel._attributes.tags_metadata import Attributes

_CACHE_SIZE: Final = 1024

NAME_ATTRIBUTES: Final = (
    sc.GEN_AI_REQUEST_MODEL,
    sc.GEN_AI_TOOL_NAME,
    sc.GEN_AI_AGENT_NAME,
    sc.GEN_AI_TOOL_CALL_ID,
    sc.GEN_AI_PROVIDER_NAME,
    sc.SERVER_ADDRESS,
)
"""Attributes besides ``langchain.run.name`` that hold a name taken from the run's payload: redacted and cut
like the span name. The order of the values in a :data:`NamesKey` after the span name and the run name."""

_NAME_ATTRIBUTE_SET: Final = frozenset(NAME_ATTRIBUTES)

NamesKey = tuple[Any, ...]
"""The span name, the run name, then (unless none is present) the value or ``None`` of each of
:data:`NAME_ATTRIBUTES`."""
Names = tuple[str, Any, tuple[tuple[str, str], ...]]
"""The span name and the run name redacted and cut, and each name attribute present with its value so."""


def _text(value: str) -> str:
    """The characters of ``value`` as a plain ``str`` (what an exporter sends; ``str()`` of an enum is its name)."""
    return str.__str__(value)


class RunNames:
    """A handler's cache of redacted run names.

    Args:
        redactor: The handler's redactor (built-in and user patterns).
    """

    def __init__(self, redactor: Redactor) -> None:
        self._redactor = redactor
        self._cache: dict[NamesKey, Names] = {}

    def apply(self, span_name: str, name: str, attributes: Attributes) -> str:
        """Set ``langchain.run.name`` to ``name`` and redact and cut every name in ``attributes`` in place.

        Returns ``span_name`` redacted and cut.
        """
        key: NamesKey
        if _NAME_ATTRIBUTE_SET.isdisjoint(attributes):  # most chains: the span name and the run name only
            key = (span_name, name)
        else:
            get = attributes.get
            key = (  # in the order of NAME_ATTRIBUTES
                span_name,
                name,
                get(sc.GEN_AI_REQUEST_MODEL),
                get(sc.GEN_AI_TOOL_NAME),
                get(sc.GEN_AI_AGENT_NAME),
                get(sc.GEN_AI_TOOL_CALL_ID),
                get(sc.GEN_AI_PROVIDER_NAME),
                get(sc.SERVER_ADDRESS),
            )
        try:
            names = self._cache[key]
        except (KeyError, TypeError):  # not seen yet, or an unhashable attribute value
            names = self._redact(key)
        redacted_span_name, redacted_name, redacted = names
        attributes[sc.RUN_NAME] = redacted_name
        for attribute, value in redacted:
            attributes[attribute] = value
        return redacted_span_name

    def _redact(self, key: NamesKey) -> Names:
        """Return the names of ``key`` redacted and cut; cache them when every value is text.

        Text includes ``str`` subclasses (a model name from a ``str`` enum): equal strings redact alike, so
        they share the cache. Values that are not text are left as they are, and then nothing is cached.
        """
        name = self._redactor.name
        span_name, run_name, *values = key
        values = values or [None] * len(NAME_ATTRIBUTES)
        cacheable = isinstance(run_name, str)
        redacted = []
        for attribute, value in zip(NAME_ATTRIBUTES, values, strict=True):
            if value is None:
                continue
            if isinstance(value, str):
                redacted.append((attribute, name(_text(value))))
            else:
                cacheable = False
        names: Names = (
            name(_text(span_name)),
            name(_text(run_name)) if isinstance(run_name, str) else run_name,
            tuple(redacted),
        )
        if cacheable:
            if len(self._cache) >= _CACHE_SIZE:
                self._cache.clear()  # crude but bounded; a working set this large is unusual
            self._cache[key] = names  # hashable: every value is text
        return names

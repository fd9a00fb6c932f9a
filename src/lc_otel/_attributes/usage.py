"""Token usage: what a model call reports in its response, read from every shape providers use.

``Usage`` is the count of one model call, or the sum over a subtree of runs (chain and agent spans). The
readers here turn LangChain's ``usage_metadata`` and the providers' raw ``llm_output`` shapes into it, and
write it as ``gen_ai.usage.*`` / ``langchain.usage.*`` attributes. Pure functions; odd values are skipped,
never raised on.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator, Mapping
from typing import Any, Final

from lc_otel._attributes import semconv as sc
from lc_otel._attributes.tags_metadata import INT64_END, Attributes, is_int64, is_mapping, is_sequence

_INT64_DIGITS: Final = 19


@dataclasses.dataclass(eq=False, slots=True)
class Usage:
    """Token counts of one model call or of a subtree of runs."""

    input_tokens: int = 0
    """Prompt tokens, cached ones included."""
    output_tokens: int = 0
    """Completion tokens, reasoning ones included."""
    total_tokens: int = 0
    """As the provider reported it, else input plus output."""
    cache_read_input_tokens: int = 0
    """Input tokens served from the provider's prompt cache (a subset of ``input_tokens``)."""
    cache_write_input_tokens: int = 0
    """Input tokens written to the provider's prompt cache (a subset of ``input_tokens``)."""
    reasoning_output_tokens: int = 0
    """Output tokens spent on reasoning (a subset of ``output_tokens``)."""

    def add(self, other: Usage) -> None:
        """Add ``other``'s counts to these."""
        self.input_tokens += other.input_tokens
        self.output_tokens += other.output_tokens
        self.total_tokens += other.total_tokens
        self.cache_read_input_tokens += other.cache_read_input_tokens
        self.cache_write_input_tokens += other.cache_write_input_tokens
        self.reasoning_output_tokens += other.reasoning_output_tokens


def count(value: Any) -> int | None:
    """Read a token count: an int, or a string of ASCII digits, in ``0 .. 2**63-1``; anything else is ``None``.

    Like NaN, a count an OTLP int (64-bit) cannot hold is dropped: the exporter would drop the whole span.
    """
    if type(value) is int:  # nearly always
        return value if 0 <= value < INT64_END else None
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return int(value) if 0 <= value < INT64_END else None
    if isinstance(value, float) and math.isfinite(value) and 0 <= value < INT64_END:
        return int(value)
    if isinstance(value, str):
        digits = value.strip()
        # ASCII only: str.isdigit() accepts "²", which int() refuses.
        if digits.isascii() and digits.isdigit() and len(digits) <= _INT64_DIGITS:
            number = int(digits)
            return number if number < INT64_END else None
    return None


def _generations(response: Any) -> Iterator[Any]:
    generations = getattr(response, "generations", None)
    if not is_sequence(generations):
        return
    for per_prompt in generations:
        if is_sequence(per_prompt):
            yield from per_prompt


def _metadata_of(generation: Any) -> tuple[Mapping[str, Any], Mapping[str, Any]]:
    message = getattr(generation, "message", None)
    response_metadata = getattr(message, "response_metadata", None)
    info = getattr(generation, "generation_info", None)
    return (
        response_metadata if is_mapping(response_metadata) else {},
        info if is_mapping(info) else {},
    )


def llm_output(response: Any) -> Mapping[str, Any]:
    """The response's ``llm_output`` if it is a mapping, else an empty one."""
    llm_output = getattr(response, "llm_output", None)
    return llm_output if is_mapping(llm_output) else {}


def _first_count(usage: Mapping[str, Any], *keys: str) -> int | None:
    for key in keys:
        value = count(usage.get(key))
        if value is not None:
            return value
    return None


def message_usage(usage: Any) -> Usage | None:
    """Read LangChain's normalised ``usage_metadata`` (``UsageMetadata``); ``None`` when it has no counts."""
    if type(usage) is not dict and not is_mapping(usage):
        return None
    input_tokens = usage.get("input_tokens")
    output_tokens = usage.get("output_tokens")
    total = usage.get("total_tokens")
    if (
        type(input_tokens) is int
        and type(output_tokens) is int
        and type(total) is int
        and input_tokens >= 0
        and output_tokens >= 0
        and total >= 0
    ):
        found = Usage(input_tokens, output_tokens, total)  # as LangChain types it: nearly always
    else:
        input_tokens, output_tokens, total = count(input_tokens), count(output_tokens), count(total)
        if input_tokens is None and output_tokens is None:
            return None
        input_tokens, output_tokens = input_tokens or 0, output_tokens or 0
        found = Usage(input_tokens, output_tokens, total if total is not None else input_tokens + output_tokens)
    details = usage.get("input_token_details")
    if details is not None and is_mapping(details):  # absent unless the provider reports cache use
        found.cache_read_input_tokens = count(details.get("cache_read")) or 0
        written = _first_count(details, "cache_creation", "cache_write")
        if written is None:  # Anthropic may report only the per-lifetime buckets
            written = sum(
                count(value) or 0
                for key, value in details.items()
                if isinstance(key, str) and key.startswith("ephemeral_")
            )
        found.cache_write_input_tokens = written
    details = usage.get("output_token_details")
    if details is not None and is_mapping(details):
        found.reasoning_output_tokens = count(details.get("reasoning")) or 0
    return found


def _provider_usage(usage: Any) -> Usage | None:
    """Read the raw usage shapes providers put in ``llm_output`` (OpenAI, Anthropic, Bedrock, Gemini, Ollama).

    Totals follow the conventions: input includes cached tokens and output includes reasoning tokens, so
    Anthropic's and Bedrock's uncached ``input_tokens`` get their cache counts added, and Gemini's candidate
    count gets its thought tokens added.
    """
    if not is_mapping(usage):
        return None
    input_tokens = _first_count(
        usage, "prompt_tokens", "input_tokens", "inputTokens", "prompt_token_count", "prompt_eval_count"
    )
    output_tokens = _first_count(
        usage, "completion_tokens", "output_tokens", "outputTokens", "candidates_token_count", "eval_count"
    )
    if input_tokens is None and output_tokens is None:
        return None
    found = Usage(input_tokens=input_tokens or 0, output_tokens=output_tokens or 0)
    prompt_details = usage.get("prompt_tokens_details")
    if is_mapping(prompt_details):  # OpenAI: prompt_tokens already includes cached ones
        found.cache_read_input_tokens = count(prompt_details.get("cached_tokens")) or 0
    else:
        found.cache_read_input_tokens = (
            _first_count(usage, "cache_read_input_tokens", "cacheReadInputTokens", "cached_content_token_count") or 0
        )
    found.cache_write_input_tokens = (
        _first_count(usage, "cache_creation_input_tokens", "cacheWriteInputTokens", "cache_write_tokens") or 0
    )
    if _first_count(usage, "prompt_tokens", "prompt_token_count") is None and (
        _first_count(usage, "input_tokens", "inputTokens") is not None
    ):
        found.input_tokens += found.cache_read_input_tokens + found.cache_write_input_tokens
    completion_details = usage.get("completion_tokens_details")
    if is_mapping(completion_details):  # OpenAI: completion_tokens already includes reasoning
        found.reasoning_output_tokens = count(completion_details.get("reasoning_tokens")) or 0
    else:
        thoughts = count(usage.get("thoughts_token_count"))
        if thoughts is not None:  # Gemini: candidates exclude thoughts
            found.reasoning_output_tokens = thoughts
            found.output_tokens += thoughts
        else:
            found.reasoning_output_tokens = count(usage.get("reasoning_tokens")) or 0
    total = _first_count(usage, "total_tokens", "totalTokens", "total_token_count")
    found.total_tokens = total if total is not None else found.input_tokens + found.output_tokens
    return found


def provider_usage(response: Any) -> Usage | None:
    """Read the provider's raw usage: ``llm_output``'s, else a generation's metadata (Ollama-style integrations).

    The fallback for a response whose generations carry no ``usage_metadata``: that is LangChain's
    provider-agnostic shape and the only one present when streaming (it comes from the usage chunk), read by
    the walk over generations in :mod:`lc_otel._attributes.genai`.
    """
    output = llm_output(response)
    for key in ("token_usage", "usage", "usage_metadata"):
        found = _provider_usage(output.get(key))
        if found is not None:
            return found
    # Ollama-style integrations report raw counts in the generation's metadata only.
    for generation in _generations(response):
        for source in _metadata_of(generation):
            found = _provider_usage(source)
            if found is not None:
                return found
    return None


def _fits_int64(usage: Usage) -> bool:
    """Tell whether every count fits an OTLP int: they are never negative, so their sum tells."""
    return (
        usage.input_tokens
        + usage.output_tokens
        + usage.total_tokens
        + usage.cache_read_input_tokens
        + usage.cache_write_input_tokens
        + usage.reasoning_output_tokens
    ) < INT64_END


def _drop_out_of_range(into: Attributes) -> None:
    """Remove the ints a sum pushed past what an OTLP int holds (never real counts: crafted or corrupt input)."""
    for key, value in list(into.items()):
        if type(value) is int and not is_int64(value):
            del into[key]


def usage_attributes(usage: Usage, into: Attributes) -> None:
    """Add the ``gen_ai.usage.*`` counts of one model call to ``into`` (zero details are left out).

    A count a sum pushed past what an OTLP int holds is left out too, like NaN.
    """
    if not _fits_int64(usage):
        found: Attributes = {}
        _set_usage(usage, found)
        _drop_out_of_range(found)
        into.update(found)
    else:
        _set_usage(usage, into)


def _set_usage(usage: Usage, into: Attributes) -> None:
    into[sc.GEN_AI_USAGE_INPUT_TOKENS] = usage.input_tokens
    into[sc.GEN_AI_USAGE_OUTPUT_TOKENS] = usage.output_tokens
    if usage.cache_read_input_tokens:
        into[sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS] = usage.cache_read_input_tokens
    if usage.cache_write_input_tokens:
        # Both names: the conventions' current one, and the one Jaeger UI and Phoenix read (docs/attributes.md).
        into[sc.GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS] = usage.cache_write_input_tokens
        into[sc.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS] = usage.cache_write_input_tokens
    if usage.reasoning_output_tokens:
        into[sc.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS] = usage.reasoning_output_tokens


def subtree_usage_attributes(usage: Usage, into: Attributes) -> None:
    """Add a chain's ``langchain.usage.*`` subtree totals to ``into`` (those an OTLP int can hold)."""
    totals = into if _fits_int64(usage) else {}
    totals[sc.USAGE_INPUT_TOKENS] = usage.input_tokens
    totals[sc.USAGE_OUTPUT_TOKENS] = usage.output_tokens
    totals[sc.USAGE_TOTAL_TOKENS] = usage.total_tokens
    if totals is not into:
        _drop_out_of_range(totals)
        into.update(totals)

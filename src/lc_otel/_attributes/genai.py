"""GenAI semantic-convention attributes for model runs, read from LangChain's own payloads.

Provider-agnostic: everything comes from ``metadata["ls_*"]``, ``invocation_params``, ``usage_metadata``
and ``response_metadata``, with ``llm_output`` as the fallback for older integrations. No allowlist of
model classes. Pure functions; odd values are skipped, never raised on.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final
from urllib.parse import urlsplit

from opentelemetry.util.types import AttributeValue

from lc_otel._attributes import semconv as sc
from lc_otel._attributes.messages import FINISH_REASON_KEYS
from lc_otel._attributes.redaction import BUILTIN_REDACTOR, MAX_NAME_LENGTH, Redactor
from lc_otel._attributes.tags_metadata import Attributes, is_int64, is_mapping, is_sequence
from lc_otel._attributes.usage import (
    Usage,
    count,
    llm_output,
    message_usage,
    provider_usage,
    usage_attributes,
)

# LangChain's ``ls_provider`` values → the conventions' ``gen_ai.provider.name`` values.
_PROVIDERS: Final = {
    "openai": "openai",
    "azure": "azure.ai.openai",
    "azure_openai": "azure.ai.openai",
    "azure_ai": "azure.ai.inference",
    "anthropic": "anthropic",
    "amazon_bedrock": "aws.bedrock",
    "bedrock": "aws.bedrock",
    "bedrock_converse": "aws.bedrock",
    "google_genai": "gcp.gen_ai",
    "google_vertexai": "gcp.vertex_ai",
    "google_anthropic_vertex": "gcp.vertex_ai",
    "vertexai": "gcp.vertex_ai",
    "gemini": "gcp.gemini",
    "cohere": "cohere",
    "mistral": "mistral_ai",
    "mistralai": "mistral_ai",
    "groq": "groq",
    "deepseek": "deepseek",
    "xai": "x_ai",
    "perplexity": "perplexity",
    "ibm": "ibm.watsonx.ai",
    "watsonx": "ibm.watsonx.ai",
}

_MAX_LIST: Final = 64
"""Stop sequences and finish reasons kept at most (each cut like a name)."""

_MODEL_KEYS: Final = ("model", "model_name", "model_id", "deployment_name", "azure_deployment", "repo_id")
_SERVER_KEYS: Final = (
    "openai_api_base",
    "base_url",
    "azure_endpoint",
    "endpoint_url",
    "api_base",
    "anthropic_api_url",
)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _text_at(source: Mapping[str, Any], keys: Sequence[str]) -> str | None:
    """The first non-empty text under one of ``keys`` in ``source``."""
    for key in keys:
        if found := _text(source.get(key)):
            return found
    return None


def _number(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float) and math.isfinite(value):
        return float(value)
    return None


def _seed(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and is_int64(value):
        return int(value)
    return None


def _choice_count(value: Any) -> int | None:
    choices = count(value)
    return choices if choices != 1 else None  # one choice is the default: not worth an attribute


def _stop_sequences(value: Any) -> list[str] | None:
    if isinstance(value, str):
        return [value[:MAX_NAME_LENGTH]] if value else None
    if isinstance(value, Sequence) and value and all(isinstance(stop, str) for stop in value):
        return [stop[:MAX_NAME_LENGTH] for stop in value[:_MAX_LIST]]
    return None


# The request parameters by key in ``invocation_params``: the attribute, and how to read its value. Where
# several keys mean the same attribute, the first one present in the parameters wins.
_REQUEST_PARAMETERS: Final[Mapping[str, tuple[str, Callable[[Any], AttributeValue | None]]]] = {
    "temperature": (sc.GEN_AI_REQUEST_TEMPERATURE, _number),
    "top_p": (sc.GEN_AI_REQUEST_TOP_P, _number),
    "frequency_penalty": (sc.GEN_AI_REQUEST_FREQUENCY_PENALTY, _number),
    "presence_penalty": (sc.GEN_AI_REQUEST_PRESENCE_PENALTY, _number),
    "top_k": (sc.GEN_AI_REQUEST_TOP_K, count),
    "max_tokens": (sc.GEN_AI_REQUEST_MAX_TOKENS, count),
    "max_completion_tokens": (sc.GEN_AI_REQUEST_MAX_TOKENS, count),
    "max_output_tokens": (sc.GEN_AI_REQUEST_MAX_TOKENS, count),
    "num_predict": (sc.GEN_AI_REQUEST_MAX_TOKENS, count),
    "maxTokens": (sc.GEN_AI_REQUEST_MAX_TOKENS, count),
    "stop": (sc.GEN_AI_REQUEST_STOP_SEQUENCES, _stop_sequences),
    "stop_sequences": (sc.GEN_AI_REQUEST_STOP_SEQUENCES, _stop_sequences),
    "seed": (sc.GEN_AI_REQUEST_SEED, _seed),
    "n": (sc.GEN_AI_REQUEST_CHOICE_COUNT, _choice_count),
}
# The same, as LangChain's ``ls_*`` metadata reports them: used where the parameters did not say.
_LS_PARAMETERS: Final[Mapping[str, tuple[str, Callable[[Any], AttributeValue | None]]]] = {
    "ls_temperature": (sc.GEN_AI_REQUEST_TEMPERATURE, _number),
    "ls_max_tokens": (sc.GEN_AI_REQUEST_MAX_TOKENS, count),
    "ls_stop": (sc.GEN_AI_REQUEST_STOP_SEQUENCES, _stop_sequences),
}


def _read_parameters(
    source: Mapping[str, Any],
    known: Mapping[str, tuple[str, Callable[[Any], AttributeValue | None]]],
    into: Attributes,
) -> None:
    """Add the attribute of each key of ``known`` in ``source`` to ``into``, unless ``into`` has it already."""
    # One pass over the source (a handful of keys), not one lookup per known key: most are absent.
    for key, raw in source.items():
        if raw is None:
            continue
        parameter = known.get(key)
        if parameter is None:
            continue
        attribute, read = parameter
        if attribute not in into and (value := read(raw)) is not None:
            into[attribute] = value


def provider_name(metadata: Mapping[str, Any] | None, invocation_params: Mapping[str, Any] | None) -> str | None:
    """Map LangChain's provider name to the conventions' value (unknown names pass through)."""
    raw = metadata.get("ls_provider") if type(metadata) is dict or is_mapping(metadata) else None
    if not isinstance(raw, str) or not raw:
        kind = invocation_params.get("_type") if invocation_params else None
        if not isinstance(kind, str) or not kind:
            return None
        raw = kind.split("-")[0]
    known = _PROVIDERS.get(raw)  # LangChain's own values need no normalising
    if known is not None:
        return known
    key = raw.strip().lower()
    return _PROVIDERS.get(key, key)


def request_model(
    metadata: Mapping[str, Any] | None,
    invocation_params: Mapping[str, Any] | None,
    serialized: Mapping[str, Any] | None,
) -> str | None:
    """Find the requested model name in metadata, invocation parameters or the serialized model."""
    found = metadata.get("ls_model_name") if type(metadata) is dict or is_mapping(metadata) else None
    if isinstance(found, str) and found:
        return found
    for source in (invocation_params, _serialized_kwargs(serialized)):
        if source and (found := _text_at(source, _MODEL_KEYS)):
            return found
    return None


def _serialized_kwargs(serialized: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    if type(serialized) is not dict and not is_mapping(serialized):
        return None
    kwargs = serialized.get("kwargs")
    return kwargs if type(kwargs) is dict or is_mapping(kwargs) else None


def _server(kwargs: Mapping[str, Any] | None, into: Attributes) -> None:
    if not kwargs or kwargs.keys().isdisjoint(_SERVER_KEYS):
        return
    for key in _SERVER_KEYS:
        url = kwargs.get(key)
        if isinstance(url, str) and url:
            try:
                parts = urlsplit(url)
                host, port = parts.hostname, parts.port
            except ValueError:
                return
            if host:
                into[sc.SERVER_ADDRESS] = host
                if port:
                    into[sc.SERVER_PORT] = port
            return


def request_attributes(
    operation: str,
    model: str | None,
    *,
    metadata: Mapping[str, Any] | None,
    invocation_params: Mapping[str, Any] | None,
    serialized: Mapping[str, Any] | None,
    into: Attributes,
) -> None:
    """Add the operation, provider, model and request parameters of a model call to ``into``."""
    into[sc.GEN_AI_OPERATION_NAME] = operation
    provider = provider_name(metadata, invocation_params)
    if provider:
        into[sc.GEN_AI_PROVIDER_NAME] = provider
    if model:
        into[sc.GEN_AI_REQUEST_MODEL] = model
    if invocation_params:
        _read_parameters(invocation_params, _REQUEST_PARAMETERS, into)
    if metadata and (type(metadata) is dict or is_mapping(metadata)) and not metadata.keys().isdisjoint(_LS_PARAMETERS):
        _read_parameters(metadata, _LS_PARAMETERS, into)
    kwargs = _serialized_kwargs(serialized)
    if kwargs:
        # The constructor's own arguments, for what the call's parameters leave out: ChatAnthropic's
        # stop_sequences, say, which its invocation_params report as ``stop: None``.
        _read_parameters(kwargs, _REQUEST_PARAMETERS, into)
        _server(kwargs, into)


# --- response -------------------------------------------------------------------------------------------

_RESPONSE_MODEL_KEYS: Final = ("model_name", "model", "model_id")
# Message ids LangChain makes up (``run-<uuid>``, ``lc_run--<uuid>``) are not the provider's response id.
_LANGCHAIN_ID_PREFIXES: Final = ("run-", "lc_")


def _read_generations(response: Any) -> tuple[str | None, str | None, list[str], Usage | None]:
    """The response model, the provider's response id, the finish reasons and the summed usage metadata."""
    model: str | None = None
    found_id: str | None = None
    reasons: list[str] = []
    usage: Usage | None = None
    # The walk over generations and their two metadata mappings written out (no generator, no helper per
    # mapping): a Python call costs about as much as reading a few fields, and this runs on every model call.
    generations = getattr(response, "generations", None)
    for per_prompt in generations if type(generations) is list or is_sequence(generations) else ():
        counted_prompt = False  # usage is per response: n candidates of one prompt carry the same copy
        for generation in per_prompt if type(per_prompt) is list or is_sequence(per_prompt) else ():
            message = getattr(generation, "message", None)
            reason: str | None = None
            for source in (getattr(message, "response_metadata", None), getattr(generation, "generation_info", None)):
                if source is None or (type(source) is not dict and not is_mapping(source)) or not source:
                    continue  # generation_info, most often, on chat models
                if model is None:
                    model = _text_at(source, _RESPONSE_MODEL_KEYS)
                if found_id is None:
                    value = source.get("id")
                    if isinstance(value, str) and value:
                        found_id = value
                if reason is None:
                    reason = _text_at(source, FINISH_REASON_KEYS)  # messages.finish_reason, inline in this walk
            if reason:  # one per generation: response_metadata's, else generation_info's
                reasons.append(reason)
            if found_id is None:
                message_id = getattr(message, "id", None)
                if isinstance(message_id, str) and message_id and not message_id.startswith(_LANGCHAIN_ID_PREFIXES):
                    found_id = message_id
            if counted_prompt:
                continue
            counted = message_usage(getattr(message, "usage_metadata", None))
            if counted is not None:
                counted_prompt = True
                if usage is None:
                    usage = counted
                else:
                    usage.add(counted)
    return model, found_id, reasons, usage


def response_attributes(response: Any, into: Attributes, redactor: Redactor | None = None) -> Usage | None:
    """Add response model, id, finish reasons and token usage to ``into``; return the usage found.

    The model and the id are redacted and cut like names (by ``redactor``, else the built-in rules): a
    provider may echo what it was sent.

    One pass over the generations, since this runs at the end of every model call. The model comes from
    ``response_metadata``, then ``generation_info``, then ``llm_output``; the id is the provider's
    (``chatcmpl-…``, ``msg_…``), never one LangChain made up; one finish reason per generation that reports
    one; usage summed from ``usage_metadata``, else as :func:`provider_usage` reads it.
    """
    model, found_id, reasons, usage = _read_generations(response)
    if model is None or found_id is None:
        output = llm_output(response)
        if output:
            if model is None:
                model = _text_at(output, _RESPONSE_MODEL_KEYS)
            if found_id is None:
                found_id = _text(output.get("id"))
    if usage is None:
        usage = provider_usage(response)  # the provider shapes: rare, and only when usage_metadata is absent
    if model:
        into[sc.GEN_AI_RESPONSE_MODEL] = (redactor or BUILTIN_REDACTOR).name(model)
    if found_id:
        into[sc.GEN_AI_RESPONSE_ID] = (redactor or BUILTIN_REDACTOR).name(found_id)
    if reasons:
        into[sc.GEN_AI_RESPONSE_FINISH_REASONS] = [reason[:MAX_NAME_LENGTH] for reason in reasons[:_MAX_LIST]]
    if usage is not None:
        usage_attributes(usage, into)
    return usage


def response_model_and_usage(response: Any) -> tuple[str | None, Usage | None]:
    """The model that answered and the tokens it reported, as :func:`response_attributes` reads them."""
    found: Attributes = {}
    usage = response_attributes(response, found)
    model = found.get(sc.GEN_AI_RESPONSE_MODEL)
    return (model if isinstance(model, str) else None), usage

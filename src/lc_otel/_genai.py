"""GenAI semantic-convention attributes for model runs, read from LangChain's own payloads.

Provider-agnostic: everything comes from ``metadata["ls_*"]``, ``invocation_params``, ``usage_metadata``
and ``response_metadata``, with ``llm_output`` as the fallback for older integrations. No allowlist of
model classes. Pure functions; odd values are skipped, never raised on.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Final
from urllib.parse import urlsplit

from lc_otel import _semconv as sc
from lc_otel._attributes import Attributes
from lc_otel._runs import Usage

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

_MODEL_KEYS: Final = ("model", "model_name", "model_id", "deployment_name", "azure_deployment", "repo_id")
_MAX_TOKENS_KEYS: Final = ("max_tokens", "max_completion_tokens", "max_output_tokens", "num_predict", "maxTokens")
_FLOAT_PARAMS: Final = (
    ("temperature", sc.GEN_AI_REQUEST_TEMPERATURE),
    ("top_p", sc.GEN_AI_REQUEST_TOP_P),
    ("frequency_penalty", sc.GEN_AI_REQUEST_FREQUENCY_PENALTY),
    ("presence_penalty", sc.GEN_AI_REQUEST_PRESENCE_PENALTY),
)
_SERVER_KEYS: Final = ("openai_api_base", "base_url", "azure_endpoint", "endpoint_url", "api_base")


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float) and math.isfinite(value):
        return float(value)
    return None


def count(value: Any) -> int | None:
    """Read a token count: a non-negative int, or a string of digits; anything else is ``None``."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    if isinstance(value, float) and math.isfinite(value) and value >= 0:
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def provider_name(metadata: Mapping[str, Any] | None, invocation_params: Mapping[str, Any] | None) -> str | None:
    """Map LangChain's provider name to the conventions' value (unknown names pass through)."""
    raw = _text((metadata or {}).get("ls_provider"))
    if raw is None:
        kind = _text((invocation_params or {}).get("_type"))
        raw = kind.split("-")[0] if kind else None
    if raw is None:
        return None
    key = raw.strip().lower()
    return _PROVIDERS.get(key, key)


def request_model(
    metadata: Mapping[str, Any] | None,
    invocation_params: Mapping[str, Any] | None,
    serialized: Mapping[str, Any] | None,
) -> str | None:
    """Find the requested model name in metadata, invocation parameters or the serialized model."""
    found = _text((metadata or {}).get("ls_model_name"))
    if found:
        return found
    for source in (invocation_params, _serialized_kwargs(serialized)):
        if source:
            for key in _MODEL_KEYS:
                found = _text(source.get(key))
                if found:
                    return found
    return None


def _serialized_kwargs(serialized: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    if not isinstance(serialized, Mapping):
        return None
    kwargs = serialized.get("kwargs")
    return kwargs if isinstance(kwargs, Mapping) else None


def _server(serialized: Mapping[str, Any] | None, into: Attributes) -> None:
    kwargs = _serialized_kwargs(serialized)
    if not kwargs:
        return
    for key in _SERVER_KEYS:
        url = _text(kwargs.get(key))
        if url:
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
    params: Mapping[str, Any] = invocation_params or {}
    md: Mapping[str, Any] = metadata or {}
    for key, attribute in _FLOAT_PARAMS:
        value = _number(params.get(key))
        if value is None and key == "temperature":
            value = _number(md.get("ls_temperature"))
        if value is not None:
            into[attribute] = value
    top_k = count(params.get("top_k"))
    if top_k is not None:
        into[sc.GEN_AI_REQUEST_TOP_K] = top_k
    for key in _MAX_TOKENS_KEYS:
        max_tokens = count(params.get(key))
        if max_tokens is not None:
            into[sc.GEN_AI_REQUEST_MAX_TOKENS] = max_tokens
            break
    else:
        max_tokens = count(md.get("ls_max_tokens"))
        if max_tokens is not None:
            into[sc.GEN_AI_REQUEST_MAX_TOKENS] = max_tokens
    stop = params.get("stop", params.get("stop_sequences", md.get("ls_stop")))
    if isinstance(stop, str) and stop:
        into[sc.GEN_AI_REQUEST_STOP_SEQUENCES] = [stop]
    elif isinstance(stop, Sequence) and stop and all(isinstance(s, str) for s in stop):
        into[sc.GEN_AI_REQUEST_STOP_SEQUENCES] = list(stop)
    seed = params.get("seed")
    if isinstance(seed, int) and not isinstance(seed, bool):
        into[sc.GEN_AI_REQUEST_SEED] = seed
    choices = count(params.get("n"))
    if choices is not None and choices != 1:
        into[sc.GEN_AI_REQUEST_CHOICE_COUNT] = choices
    _server(serialized, into)


# --- response -------------------------------------------------------------------------------------------


def _generations(response: Any) -> Iterator[Any]:
    generations = getattr(response, "generations", None)
    if not isinstance(generations, Sequence):
        return
    for per_prompt in generations:
        if isinstance(per_prompt, Sequence):
            yield from per_prompt


def _message_usage(usage: Any) -> Usage | None:
    if not isinstance(usage, Mapping):
        return None
    found = Usage()
    found.input_tokens = count(usage.get("input_tokens")) or 0
    found.output_tokens = count(usage.get("output_tokens")) or 0
    total = count(usage.get("total_tokens"))
    found.total_tokens = total if total is not None else found.input_tokens + found.output_tokens
    details = usage.get("input_token_details")
    if isinstance(details, Mapping):
        found.cache_read_input_tokens = count(details.get("cache_read")) or 0
        found.cache_write_input_tokens = count(details.get("cache_creation")) or 0
    details = usage.get("output_token_details")
    if isinstance(details, Mapping):
        found.reasoning_output_tokens = count(details.get("reasoning")) or 0
    return found


def _first_count(usage: Mapping[str, Any], *keys: str) -> int | None:
    for key in keys:
        value = count(usage.get(key))
        if value is not None:
            return value
    return None


def _provider_usage(usage: Any) -> Usage | None:
    """Read the raw usage shapes providers put in ``llm_output`` (OpenAI, Anthropic, Bedrock, Gemini, Ollama)."""
    if not isinstance(usage, Mapping):
        return None
    found = Usage()
    input_tokens = _first_count(
        usage, "prompt_tokens", "input_tokens", "inputTokens", "prompt_token_count", "prompt_eval_count"
    )
    output_tokens = _first_count(
        usage, "completion_tokens", "output_tokens", "outputTokens", "candidates_token_count", "eval_count"
    )
    if input_tokens is None and output_tokens is None:
        return None
    found.input_tokens = input_tokens or 0
    found.output_tokens = output_tokens or 0
    total = _first_count(usage, "total_tokens", "totalTokens", "total_token_count")
    found.total_tokens = total if total is not None else found.input_tokens + found.output_tokens
    prompt_details = usage.get("prompt_tokens_details")
    if isinstance(prompt_details, Mapping):
        found.cache_read_input_tokens = count(prompt_details.get("cached_tokens")) or 0
    else:
        found.cache_read_input_tokens = (
            _first_count(usage, "cache_read_input_tokens", "cacheReadInputTokens", "cached_content_token_count")
            or 0
        )
    found.cache_write_input_tokens = (
        _first_count(usage, "cache_creation_input_tokens", "cacheWriteInputTokens", "cache_write_tokens") or 0
    )
    completion_details = usage.get("completion_tokens_details")
    if isinstance(completion_details, Mapping):
        found.reasoning_output_tokens = count(completion_details.get("reasoning_tokens")) or 0
    else:
        found.reasoning_output_tokens = _first_count(usage, "thoughts_token_count", "reasoning_tokens") or 0
    return found


def response_usage(response: Any) -> Usage | None:
    """Sum ``usage_metadata`` over the generations, else read ``llm_output``'s provider usage."""
    total: Usage | None = None
    for generation in _generations(response):
        usage = _message_usage(getattr(getattr(generation, "message", None), "usage_metadata", None))
        if usage is not None:
            if total is None:
                total = usage
            else:
                total.add(usage)
    if total is not None:
        return total
    llm_output = getattr(response, "llm_output", None)
    if isinstance(llm_output, Mapping):
        for key in ("token_usage", "usage", "usage_metadata"):
            found = _provider_usage(llm_output.get(key))
            if found is not None:
                return found
    return None


def usage_attributes(usage: Usage, into: Attributes) -> None:
    """Add the ``gen_ai.usage.*`` counts of one model call to ``into`` (zero details are left out)."""
    into[sc.GEN_AI_USAGE_INPUT_TOKENS] = usage.input_tokens
    into[sc.GEN_AI_USAGE_OUTPUT_TOKENS] = usage.output_tokens
    if usage.cache_read_input_tokens:
        into[sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS] = usage.cache_read_input_tokens
    if usage.cache_write_input_tokens:
        into[sc.GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS] = usage.cache_write_input_tokens
    if usage.reasoning_output_tokens:
        into[sc.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS] = usage.reasoning_output_tokens


def subtree_usage_attributes(usage: Usage, into: Attributes) -> None:
    """Add a chain's ``langchain.usage.*`` subtree totals to ``into``."""
    into[sc.USAGE_INPUT_TOKENS] = usage.input_tokens
    into[sc.USAGE_OUTPUT_TOKENS] = usage.output_tokens
    into[sc.USAGE_TOTAL_TOKENS] = usage.total_tokens


def _metadata_of(generation: Any) -> tuple[Mapping[str, Any], Mapping[str, Any]]:
    message = getattr(generation, "message", None)
    response_metadata = getattr(message, "response_metadata", None)
    info = getattr(generation, "generation_info", None)
    return (
        response_metadata if isinstance(response_metadata, Mapping) else {},
        info if isinstance(info, Mapping) else {},
    )


_FINISH_KEYS: Final = ("finish_reason", "stop_reason", "stopReason", "done_reason")
_RESPONSE_MODEL_KEYS: Final = ("model_name", "model", "model_id")


def response_attributes(response: Any, into: Attributes) -> Usage | None:
    """Add response model, id, finish reasons and token usage to ``into``; return the usage found."""
    finish_reasons: list[str] = []
    response_model: str | None = None
    response_id: str | None = None
    for generation in _generations(response):
        response_metadata, info = _metadata_of(generation)
        for source in (response_metadata, info):
            for key in _FINISH_KEYS:
                reason = _text(source.get(key))
                if reason:
                    finish_reasons.append(reason)
                    break
            else:
                continue
            break
        if response_model is None:
            for source in (response_metadata, info):
                for key in _RESPONSE_MODEL_KEYS:
                    response_model = _text(source.get(key))
                    if response_model:
                        break
                if response_model:
                    break
        if response_id is None:
            response_id = _text(response_metadata.get("id")) or _text(info.get("id"))
    llm_output = getattr(response, "llm_output", None)
    if isinstance(llm_output, Mapping):
        response_model = response_model or _text(llm_output.get("model_name")) or _text(llm_output.get("model"))
        response_id = response_id or _text(llm_output.get("id"))
    if response_model:
        into[sc.GEN_AI_RESPONSE_MODEL] = response_model
    if response_id:
        into[sc.GEN_AI_RESPONSE_ID] = response_id
    if finish_reasons:
        into[sc.GEN_AI_RESPONSE_FINISH_REASONS] = finish_reasons
    usage = response_usage(response)
    if usage is not None:
        usage_attributes(usage, into)
    return usage

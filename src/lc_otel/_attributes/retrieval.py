"""Retriever runs in the GenAI conventions: provider and model (always), query and documents (content only)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, Final

from lc_otel._attributes import semconv as sc
from lc_otel._attributes.messages import messages_json
from lc_otel._attributes.redaction import Redactor, coerce_text
from lc_otel._attributes.tags_metadata import Attributes, is_mapping

_SCORE_KEYS: Final = ("score", "relevance_score", "similarity_score", "_score")
"""Where retrievers and rerankers leave a document's relevance in its metadata."""


def retrieval_attributes(metadata: Mapping[str, Any] | None, into: Attributes) -> None:
    """Add the vector store (``ls_vector_store_provider``) and embedding model (``ls_embedding_model``)."""
    if not metadata or not is_mapping(metadata):
        return
    provider = metadata.get("ls_vector_store_provider")
    if isinstance(provider, str) and provider:
        into[sc.GEN_AI_PROVIDER_NAME] = provider
    model = metadata.get("ls_embedding_model")
    if isinstance(model, str) and model:
        into[sc.GEN_AI_REQUEST_MODEL] = model


def _score(metadata: Any) -> float | None:
    if not is_mapping(metadata):
        return None
    for key in _SCORE_KEYS:
        value = metadata.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
            return float(value)
    return None


def retrieved_documents(documents: Sequence[Any], redactor: Redactor, max_length: int) -> str:
    """``gen_ai.retrieval.documents``: ``[{"id", "score", "content", "metadata"}]``, each field where present.

    The conventions' shape is ``{"id", "score"}``; the content and metadata are what Phoenix and most readers
    show besides.
    """
    found: list[dict[str, Any]] = []
    for document in documents:
        entry: dict[str, Any] = {}
        document_id = getattr(document, "id", None)
        if document_id is not None and document_id != "":
            entry["id"] = coerce_text(document_id)
        metadata = getattr(document, "metadata", None)
        score = _score(metadata)
        if score is not None:
            entry["score"] = score
        entry["content"] = redactor.text(coerce_text(getattr(document, "page_content", document)))
        if metadata:
            entry["metadata"] = redactor.value(metadata)
        found.append(entry)
    return messages_json(found, max_length)

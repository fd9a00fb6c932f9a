"""Images, audio, video and files in a message as the conventions' ``blob`` / ``file`` / ``uri`` parts.

LangChain hands a chat model's callbacks its content blocks in several dialects; each is read here:

- LangChain's standard blocks: ``{"type": "image"|"audio"|"video"|"file", "url"|"base64"|"file_id", ...}``, and
  the older ``{"type": "image", "source_type": "url"|"base64"|"id", "url"|"data"|"id", ...}``;
- OpenAI Chat Completions: ``image_url`` (a URL or a ``data:`` URL), ``input_audio``, ``file``;
- OpenAI Responses: ``input_image``, ``input_file``, ``input_audio``;
- Anthropic: ``image`` / ``document`` with a ``source`` of type ``base64``, ``url``, ``file`` or ``text``;
- Google: ``media`` with ``data`` or ``file_uri``.

A base64 payload is a ``blob`` (its content the base64 text, as the conventions' JSON encoding has it), a
provider file id a ``file``, any other reference a ``uri``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from lc_otel._attributes.redaction import Redactor, coerce_text

_MODALITIES: Final = ("image", "audio", "video")
_MODALITY_OF_TYPE: Final = {
    "image": "image",
    "image_url": "image",
    "input_image": "image",
    "audio": "audio",
    "input_audio": "audio",
    "video": "video",
    "file": None,
    "input_file": None,
    "document": None,
    "media": None,
}
"""Block types that carry media, and the modality the type alone tells (``None``: the MIME type tells)."""
_AUDIO_FORMATS: Final = {"wav": "audio/wav", "mp3": "audio/mpeg", "flac": "audio/flac", "ogg": "audio/ogg"}


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _modality(kind: str, mime_type: str | None) -> str:
    known = _MODALITY_OF_TYPE.get(kind)
    if known is not None:
        return known
    if mime_type:
        major = mime_type.split("/", 1)[0].lower()
        if major in _MODALITIES:
            return major
    return "document"  # a PDF, a text file: the modality the conventions' development version adds


def _part(
    kind: str,
    mime_type: str | None,
    redactor: Redactor,
    *,
    base64: str | None = None,
    file_id: str | None = None,
    url: str | None = None,
) -> dict[str, Any] | None:
    inline = url if url and url.startswith("data:") else base64 if base64 and base64.startswith("data:") else None
    if inline:
        # data:<mime>;base64,<payload> is inline data, not a reference.
        header, _, payload = inline.partition(",")
        mime_type = mime_type or _text(header[len("data:") :].split(";", 1)[0])
        base64, url = payload, None
    part: dict[str, Any]
    if base64:
        part = {"type": "blob", "modality": "", "content": redactor.text(base64)}
    elif file_id:
        part = {"type": "file", "modality": "", "file_id": file_id}
    elif url:
        part = {"type": "uri", "modality": "", "uri": redactor.text(url)}
    else:
        return None
    part["modality"] = _modality(kind, mime_type)
    if mime_type:
        part["mime_type"] = mime_type
    return part


# A source type, in each dialect that names one: which ``_part`` argument it fills, from which key.
_ANTHROPIC_SOURCES: Final = {"base64": ("base64", "data"), "url": ("url", "url"), "file": ("file_id", "file_id")}
_LANGCHAIN_SOURCES: Final = {"base64": ("base64", "data"), "id": ("file_id", "id"), "url": ("url", "url")}


def _typed_source(
    kind: str,
    mime_type: str | None,
    redactor: Redactor,
    source: Mapping[str, Any],
    source_type: Any,
    table: Mapping[str, tuple[str, str]],
) -> dict[str, Any] | None:
    """The part of a block whose ``source_type`` (looked up in ``table``) says where its data is."""
    found = table.get(source_type) if isinstance(source_type, str) else None
    if found is None:
        return None
    argument, key = found
    return _part(kind, mime_type, redactor, **{argument: _text(source.get(key))})


def media_part(block: Mapping[str, Any], redactor: Redactor) -> dict[str, Any] | None:
    """The ``blob`` / ``file`` / ``uri`` part of a media content block, or ``None`` if it is no media block."""
    kind = block.get("type")
    if not isinstance(kind, str) or kind not in _MODALITY_OF_TYPE:
        return None
    mime_type = _text(block.get("mime_type"))
    source = block.get("source")
    if isinstance(source, Mapping):  # Anthropic
        media_type = _text(source.get("media_type"))
        return _typed_source(kind, media_type, redactor, source, source.get("type"), _ANTHROPIC_SOURCES)
    if kind == "image_url":  # OpenAI Chat Completions: {"image_url": {"url": ...}} or {"image_url": "..."}
        image = block.get("image_url")
        url = image.get("url") if isinstance(image, Mapping) else image
        return _part(kind, mime_type, redactor, url=_text(url))
    if kind == "input_audio":  # OpenAI: {"input_audio": {"data": ..., "format": "wav"}}
        audio = block.get("input_audio")
        if isinstance(audio, Mapping):
            audio_format = coerce_text(audio.get("format") or "")
            mime_type = mime_type or _AUDIO_FORMATS.get(audio_format, f"audio/{audio_format}" if audio_format else None)
            return _part(kind, mime_type, redactor, base64=_text(audio.get("data")))
    nested = block.get("file")
    if kind == "file" and isinstance(nested, Mapping):  # OpenAI Chat Completions: {"file": {"file_data"|"file_id"}}
        block = nested
    source_type = block.get("source_type")  # LangChain's older data blocks
    if isinstance(source_type, str) and source_type in _LANGCHAIN_SOURCES:
        return _typed_source(kind, mime_type, redactor, block, source_type, _LANGCHAIN_SOURCES)
    return _part(
        kind,
        mime_type,
        redactor,
        base64=_text(block.get("base64")) or _text(block.get("data")) or _text(block.get("file_data")),
        file_id=_text(block.get("file_id")),
        url=_text(block.get("url"))
        or _text(block.get("image_url"))  # Responses API input_image
        or _text(block.get("file_url"))
        or _text(block.get("file_uri")),  # Google media
    )

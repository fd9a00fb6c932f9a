"""Tags and metadata become attributes that Jaeger's tag search finds."""

from __future__ import annotations

import enum
from typing import Any

from langchain_core.language_models.fake_chat_models import FakeListChatModel
from langchain_core.runnables import RunnableLambda
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from lc_otel import OpenTelemetryCallbackHandler
from lc_otel._attributes.tags_metadata import metadata_attributes, scalar_value, tag_attributes, tag_key, user_tags
from lc_otel.testing import find_span


def test_request_and_constructor_tags(handler: OpenTelemetryCallbackHandler, exporter: InMemorySpanExporter):
    """Request tags reach every span; a model's own tags only its span; structural tags never appear."""
    model = FakeListChatModel(responses=["ok"], tags=["model-local"])
    chain = RunnableLambda(lambda x: x).with_config(run_name="prep") | model
    chain.invoke("q", {"callbacks": [handler], "tags": ["production", "team:search", ""]})
    spans = exporter.get_finished_spans()
    root = find_span(spans, "RunnableSequence")
    assert root.attributes is not None
    assert root.attributes["langchain.tags"] == ("production", "team:search")
    assert root.attributes["langchain.tag.production"] is True
    assert root.attributes["langchain.tag.team_search"] is True
    prep = find_span(spans, "prep")
    assert prep.attributes is not None
    assert prep.attributes["langchain.tags"] == ("production", "team:search")  # seq:step:1 dropped
    assert not any(k.startswith("langchain.tag.seq") for k in prep.attributes)
    chat = find_span(spans, "chat")
    assert chat.attributes is not None
    assert chat.attributes["langchain.tags"] == ("production", "team:search", "model-local")
    assert chat.attributes["langchain.tag.model-local"] is True


def test_metadata_becomes_attributes(handler: OpenTelemetryCallbackHandler, exporter: InMemorySpanExporter):
    """Scalars are kept, long strings cut to 255, other values compact JSON, conversation id picked up."""
    metadata: dict[str, Any] = {
        "user_id": "u-7",
        "attempt": 3,
        "score": 0.5,
        "beta": True,
        "filters": {"lang": "ko", "k": [1, 2]},
        "note": "x" * 1000,
        "nothing": None,
        "session_id": "S-1",
    }
    RunnableLambda(lambda x: x).invoke("q", {"callbacks": [handler], "metadata": metadata})
    (span,) = exporter.get_finished_spans()
    attrs = span.attributes
    assert attrs is not None
    assert attrs["langchain.metadata.user_id"] == "u-7"
    assert attrs["langchain.metadata.attempt"] == 3
    assert attrs["langchain.metadata.score"] == 0.5
    assert attrs["langchain.metadata.beta"] is True
    assert attrs["langchain.metadata.filters"] == '{"lang":"ko","k":[1,2]}'
    assert attrs["langchain.metadata.note"] == "x" * 255
    assert "langchain.metadata.nothing" not in attrs
    assert attrs["gen_ai.conversation.id"] == "S-1"


def test_langchain_bookkeeping_metadata_is_not_copied(
    handler: OpenTelemetryCallbackHandler, exporter: InMemorySpanExporter
):
    """ls_* keys and lc_versions do not become metadata attributes on the model span."""
    FakeListChatModel(responses=["ok"]).invoke("q", {"callbacks": [handler], "metadata": {"tenant": "acme"}})
    (chat,) = exporter.get_finished_spans()
    assert chat.attributes is not None
    keys = set(chat.attributes)
    assert "langchain.metadata.tenant" in keys
    assert not {k for k in keys if k.startswith(("langchain.metadata.ls_", "langchain.metadata.lc_versions"))}


def test_odd_metadata_keys_are_skipped_and_the_rest_kept():
    """Non-string, empty and ``ls_*`` keys (known to LangChain or not) are skipped; nothing else is lost."""
    into: dict[str, Any] = {}
    odd: dict[Any, Any] = {"ls_provider": "openai", "ls_future_key": 1, 7: "seven", "": "empty", "lc_versions": {}}
    metadata_attributes({**odd, "team": "search"}, into)
    assert into == {"langchain.metadata.team": "search"}


def test_thread_id_wins_over_session_id():
    """thread_id, then session_id, then conversation_id give gen_ai.conversation.id; LangGraph markers rename."""
    into: dict[str, Any] = {}
    metadata_attributes(
        {
            "conversation_id": "C",
            "session_id": "S",
            "thread_id": "T",
            "langgraph_node": "agent",
            "langgraph_step": 2,
        },
        into,
    )
    assert into["gen_ai.conversation.id"] == "T"
    assert into["langgraph.node"] == "agent"
    assert into["langgraph.step"] == 2


def test_tag_keys_are_normalised():
    """Characters outside [A-Za-z0-9_.-] become underscores."""
    assert tag_key("env=prod") == "langchain.tag.env_prod"
    assert tag_key("한국어 tag") == "langchain.tag.____tag"
    assert tag_key("v1.2-beta_x") == "langchain.tag.v1.2-beta_x"


def test_odd_tags_are_handled():
    """Structural, empty, duplicate and non-string tags are dropped or coerced, in order, once each."""
    tags: list[Any] = [
        "seq:step:1",
        "graph:step:3",
        "map:key:a",
        "retry:attempt:2",
        "langsmith:hidden",
        "",
        "  ",
        "a",
    ]
    tags += ["a", 42, "b"]
    assert user_tags(tags) == ["a", "42", "b"]
    into: dict[str, Any] = {}
    tag_attributes(["seq:step:1"], into)
    assert into == {}


def test_metadata_values_never_raise():
    """Cyclic, binary, huge-int, NaN and unprintable values are coerced."""

    class Unprintable:
        def __str__(self) -> str:
            raise RuntimeError("no")

    cyclic: list[Any] = []
    cyclic.append(cyclic)
    assert scalar_value(b"\x00\x01", 255) == "<2 bytes>"
    assert scalar_value(2**70, 255) == str(2**70)
    assert scalar_value(float("nan"), 255) == "nan"
    assert isinstance(scalar_value(cyclic, 255), str)
    assert scalar_value(Unprintable(), 255) == '"<unprintable Unprintable>"'
    assert scalar_value({"k": Unprintable()}, 255) == '{"k":"<unprintable Unprintable>"}'


def test_int_subclass_metadata_is_kept_as_an_int(handler: OpenTelemetryCallbackHandler, exporter: InMemorySpanExporter):
    """An IntEnum metadata value is an int attribute; one past 64 bits is text (its range test used to stall)."""

    class Priority(enum.IntEnum):
        HIGH = 5

    class Big(int):
        pass

    metadata = {"priority": Priority.HIGH, "big": Big(2**64)}
    RunnableLambda(lambda x: x).invoke("q", {"callbacks": [handler], "metadata": metadata})
    (span,) = exporter.get_finished_spans()
    assert span.attributes is not None
    assert span.attributes["langchain.metadata.priority"] == 5
    assert span.attributes["langchain.metadata.big"] == str(2**64)

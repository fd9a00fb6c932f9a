"""No secret leaves the process: not in an error's text, a metadata key or value, a tag, a name, or content.

Each test runs real LangChain runnables through the handler and searches every exported string (span names,
attribute keys and values, event attributes, status descriptions) and the OTLP bytes an exporter would send.
"""

from __future__ import annotations

import enum
import json
import logging
from collections.abc import Callable
from typing import Any

import pytest
from langchain.agents import create_agent
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import RunnableConfig, RunnableLambda
from langchain_core.tools import StructuredTool
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from lc_otel import OpenTelemetryCallbackHandler
from lc_otel._attributes.redaction import Redactor
from lc_otel._settings import Settings
from lc_otel._tracing.run_names import RunNames
from lc_otel.testing import FakeChatModel, find_span, reply
from tests.security.exported import assert_never_exported

REDACTED = "[REDACTED]"


def cfg(handler: OpenTelemetryCallbackHandler, **more: Any) -> RunnableConfig:
    return RunnableConfig(callbacks=[handler], **more)  # type: ignore[typeddict-item]


def attributes(span: ReadableSpan) -> dict[str, Any]:
    return dict(span.attributes or {})


# --- an error whose text holds a key ----------------------------------------------------------------------

OPENAI_CORE = "Q7vX2mN9pL4kR8sT1wY6zB3c"
BEARER_CORE = "J5hG8fD2sA9qW4eR7tY1uI0o"
GOOGLE_CORE = "B1c2D3e4F5g6H7i8"
DB_PASSWORD = "pw-Z9y8X7w6"
CAUSE_CORE = "M3nB6vC9xZ2lK5jH8gF1dS4a"

ERROR_MESSAGES = {
    "openai-401": (
        f"Incorrect API key provided: sk-proj-{OPENAI_CORE}. You can find your API key at "
        "https://platform.openai.com/account/api-keys.",
        ["sk-proj-" + OPENAI_CORE, OPENAI_CORE],
        "Incorrect API key provided: ",
    ),
    "bearer-echo": (
        f"Error code: 401 - {{'error': {{'message': 'Invalid header Authorization: Bearer sk-{BEARER_CORE}'}}}}",
        [BEARER_CORE],
        "Error code: 401",
    ),
    "google-query-key": (
        f"400 Client Error for url: https://generativelanguage.googleapis.com/v1beta/models?key=AIzaSy{GOOGLE_CORE}",
        [GOOGLE_CORE],
        "generativelanguage.googleapis.com",
    ),
    "database-url": (
        f'connection to server failed: "postgresql://app:{DB_PASSWORD}@db.internal:5432/orders"',
        [DB_PASSWORD],
        "db.internal:5432/orders",
    ),
}


def _fail_in_chain(handler: OpenTelemetryCallbackHandler, message: str) -> str:
    def step(_: Any) -> Any:
        raise RuntimeError(message)

    with pytest.raises(RuntimeError):
        RunnableLambda(step, name="step").invoke("q", cfg(handler))
    return "step"


def _fail_in_tool(handler: OpenTelemetryCallbackHandler, message: str) -> str:
    def lookup(query: str) -> str:
        raise LookupError(message)

    with pytest.raises(LookupError):
        StructuredTool.from_function(lookup, name="lookup", description="Look it up.").invoke("q", cfg(handler))
    return "execute_tool lookup"


def _fail_in_model(handler: OpenTelemetryCallbackHandler, message: str) -> str:
    with pytest.raises(PermissionError):
        FakeChatModel(responses=[PermissionError(message)]).invoke("q", cfg(handler))
    return "chat fake-model-1"


FAILURES: dict[str, Callable[[OpenTelemetryCallbackHandler, str], str]] = {
    "chain": _fail_in_chain,
    "tool": _fail_in_tool,
    "chat-model": _fail_in_model,
}


@pytest.mark.parametrize("where", FAILURES)
@pytest.mark.parametrize("case", ERROR_MESSAGES)
def test_a_key_in_an_error_message_is_redacted_in_the_event_the_stacktrace_and_the_status(
    handler: OpenTelemetryCallbackHandler, exporter: InMemorySpanExporter, where: str, case: str
) -> None:
    message, secrets, kept = ERROR_MESSAGES[case]
    span_name = FAILURES[where](handler, message)

    spans = exporter.get_finished_spans()
    assert_never_exported(spans, *secrets)
    failed = find_span(spans, span_name)
    assert failed.status.status_code is StatusCode.ERROR
    assert failed.status.description is not None
    assert kept in failed.status.description
    assert REDACTED in failed.status.description
    (event,) = [e for e in failed.events if e.name == "exception"]
    event_attributes = dict(event.attributes or {})
    assert kept in str(event_attributes["exception.message"])
    assert REDACTED in str(event_attributes["exception.message"])
    stacktrace = str(event_attributes["exception.stacktrace"])
    assert stacktrace.startswith("Traceback (most recent call last):")
    assert f": {event_attributes['exception.message']}" in stacktrace  # the exception's own line, redacted


def test_a_key_in_a_chained_cause_is_redacted_in_the_stacktrace(
    handler: OpenTelemetryCallbackHandler, exporter: InMemorySpanExporter
) -> None:
    def step(_: Any) -> Any:
        try:
            raise ValueError(f"Bearer {CAUSE_CORE} rejected")
        except ValueError as cause:
            raise RuntimeError("upstream call failed") from cause

    with pytest.raises(RuntimeError):
        RunnableLambda(step, name="step").invoke("q", cfg(handler))

    spans = exporter.get_finished_spans()
    assert_never_exported(spans, CAUSE_CORE)
    (event,) = find_span(spans, "step").events
    stacktrace = str((event.attributes or {})["exception.stacktrace"])
    assert "ValueError: [REDACTED] rejected" in stacktrace
    assert stacktrace.rstrip().endswith("RuntimeError: upstream call failed")


def test_configured_patterns_apply_to_error_text(provider: TracerProvider, exporter: InMemorySpanExporter) -> None:
    handler = OpenTelemetryCallbackHandler(provider, settings=Settings(), redact_patterns=[r"cust-\d+"])
    _fail_in_chain(handler, "no invoice for cust-40213")

    spans = exporter.get_finished_spans()
    assert_never_exported(spans, "cust-40213")
    assert find_span(spans, "step").status.description == "RuntimeError: no invoice for [REDACTED]"


# --- credential-named metadata keys -----------------------------------------------------------------------

CREDENTIAL_KEYS = [
    "token",
    "auth_token",
    "secret_key",
    "aws_secret_access_key",
    "apiSecret",
    "passphrase",
    "clientSecret",
    "refreshToken",
    "X-Auth-Token",
    "Password",
    "githubToken",
    "private_key",
    "session_token",
    "api-key",
    "db_credential",
]


def test_metadata_under_credential_named_keys_is_redacted_at_any_depth(
    handler: OpenTelemetryCallbackHandler, exporter: InMemorySpanExporter
) -> None:
    metadata: dict[str, Any] = {key: f"plain-{i}-Kq8Zr" for i, key in enumerate(CREDENTIAL_KEYS)}
    metadata["credentials"] = {"user": "bob", "pin": "nested-0-Kq8Zr"}
    metadata["http"] = {"headers": {"x-auth-token": "nested-1-Kq8Zr", "accept": "json"}}
    metadata["upstream"] = [{"name": "search", "apiSecret": "nested-2-Kq8Zr"}]
    # Not credentials: counts, ids and words that merely contain "token" or "key".
    kept = {"max_tokens": 256, "token_count": 12, "session_id": "S-1", "author": "ann", "monkey": "george"}
    metadata.update(kept)

    RunnableLambda(lambda x: x, name="step").invoke("q", cfg(handler, metadata=metadata))

    spans = exporter.get_finished_spans()
    assert_never_exported(spans, "Kq8Zr")
    found = attributes(find_span(spans, "step"))
    for key in CREDENTIAL_KEYS:
        assert found[f"langchain.metadata.{key}"] == REDACTED, key
    assert found["langchain.metadata.credentials"] == REDACTED
    assert found["langchain.metadata.http"] == '{"headers":{"x-auth-token":"[REDACTED]","accept":"json"}}'
    assert found["langchain.metadata.upstream"] == '[{"name":"search","apiSecret":"[REDACTED]"}]'
    for key, value in kept.items():
        assert found[f"langchain.metadata.{key}"] == value


# --- token-shaped values: fine-grained GitHub tokens, URL userinfo, credential query parameters -----------

PAT_CORE = "aBcDeFgHiJkLmNoPqRsTuV_0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVW"
GITHUB_PAT = "github_pat_11ABCDEFG0" + PAT_CORE
USERINFO_PASSWORD = "Hx7Pq2Lm9Rt4"
API_KEY = "Vb6Nm3Kj8Hg5"
TOKEN = "Tz4Wx9Qa1Sd6"
REPO_URL = f"https://deploy:{USERINFO_PASSWORD}@git.example.com/team/repo.git"
SEARCH_URL = f"https://api.example.com/v1/search?q=cats&api_key={API_KEY}&page=2"
SOCKET_URL = f"wss://stream.example.com/socket?token={TOKEN}"
TOKEN_SECRETS = (GITHUB_PAT, PAT_CORE[:24], USERINFO_PASSWORD, API_KEY, TOKEN)


def test_token_shaped_metadata_values_are_redacted_and_the_rest_kept(
    handler: OpenTelemetryCallbackHandler, exporter: InMemorySpanExporter
) -> None:
    metadata = {
        "repo": REPO_URL,
        "search": SEARCH_URL,
        "socket": SOCKET_URL,
        "deploy_note": f"deployed with {GITHUB_PAT}",
        "endpoints": {"primary": SEARCH_URL, "fallback": [SOCKET_URL, REPO_URL]},
    }
    RunnableLambda(lambda x: x, name="step").invoke("q", cfg(handler, metadata=metadata))

    spans = exporter.get_finished_spans()
    assert_never_exported(spans, *TOKEN_SECRETS)
    found = attributes(find_span(spans, "step"))
    assert found["langchain.metadata.repo"] == "https://[REDACTED]@git.example.com/team/repo.git"
    assert found["langchain.metadata.search"] == "https://api.example.com/v1/search?q=cats&api_key=[REDACTED]&page=2"
    assert found["langchain.metadata.socket"] == "wss://stream.example.com/socket?token=[REDACTED]"
    assert found["langchain.metadata.deploy_note"] == "deployed with [REDACTED]"
    assert json.loads(str(found["langchain.metadata.endpoints"])) == {
        "primary": "https://api.example.com/v1/search?q=cats&api_key=[REDACTED]&page=2",
        "fallback": [
            "wss://stream.example.com/socket?token=[REDACTED]",
            "https://[REDACTED]@git.example.com/team/repo.git",
        ],
    }


def test_token_shaped_values_in_captured_content_are_redacted(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    handler = OpenTelemetryCallbackHandler(provider, settings=Settings(capture_content=True))
    question = f"clone {REPO_URL} with {GITHUB_PAT}, then call {SEARCH_URL} and {SOCKET_URL}"
    model = FakeChatModel(responses=[reply(f"Done: used {GITHUB_PAT} on {SEARCH_URL}")])
    chain = ChatPromptTemplate.from_messages([("human", "{question}")]) | model
    chain.invoke({"question": question, "config": {"api_key": "plain-Kq8Zr"}}, cfg(handler))

    spans = exporter.get_finished_spans()
    assert_never_exported(spans, *TOKEN_SECRETS, "plain-Kq8Zr")
    sequence = attributes(find_span(spans, "RunnableSequence"))
    assert json.loads(str(sequence["langchain.input"]))["config"] == {"api_key": REDACTED}
    chat = attributes(find_span(spans, "chat fake-model-1"))
    assert "git.example.com/team/repo.git" in str(chat["gen_ai.input.messages"])
    assert "q=cats&api_key=[REDACTED]&page=2" in str(chat["gen_ai.output.messages"])


# --- secrets in names: tags, run names, tool and model names, metadata keys -------------------------------

TAG_KEY = "sk-ant-api03-Fq2Wd8Ls5Hj1Kp7Zx4Cv"
RUN_KEY = "sk-proj-Rr5Tt8Yy1Uu4Ii7Oo0Pp3Aa"
TOOL_KEY = "sk-Gg6Hh9Jj2Kk5Ll8Zz1Xx4Cc"
MODEL_KEY = "sk-Vv7Bb0Nn3Mm6Qq9Ww2Ee5Rr"
METADATA_KEY = "sk-Tt1Yy4Uu7Ii0Oo3Pp6Aa9Ss"
NAME_SECRETS = (TAG_KEY, RUN_KEY, TOOL_KEY, MODEL_KEY, METADATA_KEY, "Fq2Wd8Ls5Hj1", "Gg6Hh9Jj2Kk5")


def test_a_key_in_a_tag_a_run_name_a_tool_or_model_name_or_a_metadata_key_is_redacted(
    handler: OpenTelemetryCallbackHandler, exporter: InMemorySpanExporter
) -> None:
    def fetch(query: str) -> str:
        return f"found {query}"

    tool = StructuredTool.from_function(fetch, name=f"fetch_{TOOL_KEY}", description="Fetch.")
    model = FakeChatModel(responses=[reply("ok")], model=MODEL_KEY)
    chain = (RunnableLambda(tool.invoke) | model).with_config(run_name=f"nightly {RUN_KEY}")
    chain.invoke("q", cfg(handler, tags=["production", TAG_KEY], metadata={METADATA_KEY: "value", "team": "a"}))

    spans = exporter.get_finished_spans()
    assert_never_exported(spans, *NAME_SECRETS)
    names = {span.name for span in spans}
    assert {"nightly [REDACTED]", "execute_tool fetch_[REDACTED]", "chat [REDACTED]"} <= names
    root = attributes(find_span(spans, "nightly [REDACTED]"))
    assert root["langchain.run.name"] == "nightly [REDACTED]"
    assert root["langchain.tags"] == ("production", REDACTED)
    assert root["langchain.tag.production"] is True
    assert root["langchain.tag._REDACTED_"] is True
    assert root["langchain.metadata.[REDACTED]"] == "value"
    assert root["langchain.metadata.team"] == "a"
    assert attributes(find_span(spans, "execute_tool fetch_[REDACTED]"))["gen_ai.tool.name"] == "fetch_[REDACTED]"
    assert attributes(find_span(spans, "chat [REDACTED]"))["gen_ai.request.model"] == REDACTED


def test_a_name_that_is_a_str_subclass_is_redacted_like_plain_text() -> None:
    """A model name from a ``str`` enum (or any ``str`` subclass) is text: redacted, before and after the cache."""

    class Model(str, enum.Enum):
        LEAKY = MODEL_KEY

    names = RunNames(Redactor())
    for model in (Model.LEAKY, MODEL_KEY, Model.LEAKY):
        attributes: dict[str, Any] = {"gen_ai.request.model": model}
        span_name = names.apply(f"chat {MODEL_KEY}", "FakeChatModel", attributes)
        assert span_name == "chat [REDACTED]"
        assert attributes == {"gen_ai.request.model": REDACTED, "langchain.run.name": "FakeChatModel"}
        assert type(attributes["gen_ai.request.model"]) is str


# --- LC_OTEL_REDACT_PATTERNS --------------------------------------------------------------------------------

CARD = "4111111111111111"


def _run_with_card(provider: TracerProvider) -> None:
    handler = OpenTelemetryCallbackHandler(provider)
    chain = RunnableLambda(lambda x: f"charged {x['card']}", name="charge")
    chain.invoke({"card": CARD}, cfg(handler, metadata={"card": CARD, "note": f"card {CARD} on file"}))
    with pytest.raises(RuntimeError):
        RunnableLambda(lambda _: (_ for _ in ()).throw(RuntimeError(f"declined {CARD}")), name="pay").invoke(
            "x", cfg(handler)
        )


@pytest.mark.parametrize(
    "value",
    [
        r"\b\d{13,16}\b",  # a comma inside the pattern: one pattern, not two broken halves
        r'["cust-\\d+", "\\b\\d{13,16}\\b"]',  # a JSON list, backslashes doubled as JSON wants
        r'["cust-\d+", "\b\d{13,16}\b"]',  # a JSON list written with a regex's single backslashes
        "cust-\\d+\n\\b\\d{13,16}\\b",  # one pattern per line
    ],
)
def test_redact_patterns_from_the_environment_reach_every_exported_string(
    provider: TracerProvider, exporter: InMemorySpanExporter, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("LC_OTEL_REDACT_PATTERNS", value)
    monkeypatch.setenv("LC_OTEL_CAPTURE_CONTENT", "true")
    _run_with_card(provider)

    spans = exporter.get_finished_spans()
    assert_never_exported(spans, CARD)
    charge = attributes(find_span(spans, "charge"))
    assert charge["langchain.metadata.note"] == "card [REDACTED] on file"
    assert json.loads(str(charge["langchain.input"])) == {"card": REDACTED}
    assert charge["langchain.output"] == "charged [REDACTED]"
    assert find_span(spans, "pay").status.description == "RuntimeError: declined [REDACTED]"


def test_a_pattern_that_does_not_compile_warns_once_and_the_others_apply(
    provider: TracerProvider,
    exporter: InMemorySpanExporter,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    broken = "(unclosed-card-group"
    monkeypatch.setenv("LC_OTEL_REDACT_PATTERNS", json.dumps([broken, r"\b\d{13,16}\b"]))
    caplog.set_level(logging.WARNING, logger="lc_otel")
    _run_with_card(provider)
    _run_with_card(provider)  # a second handler reads the same environment

    assert_never_exported(exporter.get_finished_spans(), CARD)
    warnings = [r.getMessage() for r in caplog.records if r.name == "lc_otel" and broken in r.getMessage()]
    assert len(warnings) == 1
    assert "LC_OTEL_REDACT_PATTERNS" in warnings[0]


def test_a_pattern_passed_to_the_handler_that_does_not_compile_is_skipped_not_raised(
    provider: TracerProvider, exporter: InMemorySpanExporter, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="lc_otel")
    handler = OpenTelemetryCallbackHandler(provider, settings=Settings(), redact_patterns=["[broken", r"cust-\d+"])
    RunnableLambda(lambda x: x, name="step").invoke(1, cfg(handler, metadata={"customer": "cust-7"}))

    assert attributes(find_span(exporter.get_finished_spans(), "step"))["langchain.metadata.customer"] == REDACTED
    assert any("[broken" in r.getMessage() for r in caplog.records if r.name == "lc_otel")


def test_a_key_in_an_agent_name_is_redacted(
    handler: OpenTelemetryCallbackHandler, exporter: InMemorySpanExporter
) -> None:
    agent_key = "sk-Aa1Bb2Cc3Dd4Ee5Ff6Gg7Hh"
    agent = create_agent(FakeChatModel(responses=[reply("ok")]), tools=[], name=f"helper {agent_key}")
    agent.invoke({"messages": [("user", "hi")]}, cfg(handler))

    spans = exporter.get_finished_spans()
    assert_never_exported(spans, agent_key, "Aa1Bb2Cc3Dd4")
    assert "invoke_agent helper [REDACTED]" in {span.name for span in spans}
    chat = attributes(find_span(spans, "chat fake-model-1"))
    assert chat["gen_ai.agent.name"] == "helper [REDACTED]"


# --- metadata, which is sent whatever the content setting ---------------------------------------------------

_OPENAI_KEY = "sk-proj-" + "A1b2C3d4E5f6G7h8" * 2


def test_secrets_in_metadata_never_leave_even_with_content_capture_off(
    handler: OpenTelemetryCallbackHandler, exporter: InMemorySpanExporter
) -> None:
    """Credential keys, a key in free text, nested headers, and a key the 255-character cut would split."""
    metadata = {
        "user_id": "u-42",
        "api_key": "plain-looking-value",
        "Authorization": "Basic dXNlcjpwYXNz",
        "note": f"called with {_OPENAI_KEY}",
        "client": {"base_url": "https://example.test", "headers": {"x-api-key": "k-123"}},
        "padding": "x" * 250 + " " + _OPENAI_KEY,  # the key straddles the 255-character cut
    }
    RunnableLambda(lambda x: x, name="step").invoke(1, cfg(handler, metadata=metadata))

    spans = exporter.get_finished_spans()
    assert_never_exported(spans, "sk-proj", "k-123", "dXNlcjpwYXNz")
    found = attributes(find_span(spans, "step"))
    assert found["langchain.metadata.user_id"] == "u-42"
    assert found["langchain.metadata.api_key"] == REDACTED
    assert found["langchain.metadata.Authorization"] == REDACTED
    assert found["langchain.metadata.note"] == "called with [REDACTED]"
    assert (
        found["langchain.metadata.client"] == '{"base_url":"https://example.test","headers":{"x-api-key":"[REDACTED]"}}'
    )
    assert found["langchain.metadata.padding"] == "x" * 250 + " [RED"


def test_basic_authorization_in_free_text_is_redacted() -> None:
    """An ``Authorization: Basic ...`` header pasted into captured text never leaves the process."""
    from lc_otel._attributes.redaction import Redactor

    text = Redactor().text("curl -H 'Authorization: Basic dXNlcjpwYXNzd29yZA==' https://example.test")
    assert text == "curl -H 'Authorization: [REDACTED]' https://example.test"

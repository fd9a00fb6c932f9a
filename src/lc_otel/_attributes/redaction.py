"""What a secret is, and how every exported string loses it: credential-named keys and credential-looking text.

Redaction runs whatever the content setting, over every string lc_otel exports: span names, run, model and tool
names, tags, metadata keys and values, exception messages and stacktraces, status descriptions, and captured
content. Three things are replaced by ``[REDACTED]``:

- the value under a key that names a credential (:func:`is_secret_key`: ``api_key``, ``token``, ``*_token``,
  ``*secret*``, ``password``, ``passphrase``, ``credential(s)``, ``Authorization``, ``Cookie``, camelCase and
  ``x-`` header forms alike);
- text matching a built-in credential pattern (provider keys, bearer and basic credentials, URL userinfo,
  ``name=value`` and ``?name=value`` pairs whose name is a credential) or one of the user's patterns;
- values LangChain or pydantic mark secret (``SecretStr``, LangChain's serialized secrets).

Every built-in pattern does linear work on any input under Python's backtracking engine: each starts at a
literal, and its variable part either cannot fail once started (a greedy run with nothing after it) or cannot
contain the start of the next attempt, so no character is scanned twice by failing attempts. A pattern only
runs when a cheap substring test says its literal is present, which keeps the common case (text without
secrets) to a few substring searches.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final, NamedTuple

REDACTED: Final = "[REDACTED]"

MAX_NAME_LENGTH: Final = 255
"""Names, tags and metadata keys and values are cut to this: backends index short strings only (Jaeger,
Elasticsearch keyword fields), and a gRPC collector drops a whole batch over one enormous span."""

MATCH_MARGIN: Final = 512
"""Characters kept past a cut before redaction, so a secret that straddles the cut is still recognised whole."""

_MAX_DEPTH: Final = 32
_CUT_MARK: Final = "[...]"
"""What a nested value past the depth limit, or a reference back to a value being rendered, becomes."""
_DEFAULT_BUDGET: Final = 65_536
"""Characters (and values) a walk produces at most when the redactor has no length limit."""
_NAME_CACHE_SIZE: Final = 2048
_NAME_WINDOW: Final = MAX_NAME_LENGTH + MATCH_MARGIN
_SHORT_TEXT: Final = 64
"""Strings a walk redacts through the name cache (mapping keys, short values: the same in every run)."""


def coerce_text(value: Any) -> str:
    """Render any value as text, never raising."""
    try:
        return value if isinstance(value, str) else str(value)
    except Exception:  # noqa: BLE001 - a __str__ that raises must not break tracing
        return f"<unprintable {type(value).__name__}>"


def cut(text: str, max_length: int) -> str:
    """Cut ``text`` to ``max_length`` characters, marking the cut with ``…``."""
    if len(text) <= max_length:
        return text
    return text[: max(0, max_length - 1)] + "…"


# --- credential-named keys ------------------------------------------------------------------------------

_NOT_ALNUM: Final = re.compile(r"[^0-9a-z]+")
# Matched against the key lowercased with everything but letters and digits removed, so ``apiSecret``,
# ``API-SECRET`` and ``api_secret`` are one key. Counts such as ``max_tokens`` or ``token_count`` are not
# credentials: ``token`` counts only as the key's end, in the singular.
_KEY_FRAGMENTS: Final = (
    "secret",
    "passw",
    "passphrase",
    "credential",
    "apikey",
    "privatekey",
    "authorization",
    "cookie",
)
_KEY_ENDINGS: Final = (
    "token",
    "auth",
    "pwd",
    "jwt",
    "accesskey",
    "accountkey",
    "authkey",
    "clientkey",
    "encryptionkey",
    "masterkey",
    "sessionkey",
    "signingkey",
    "subscriptionkey",
)
_QUERY_ONLY_KEYS: Final = frozenset({"key", "sig", "signature", "xamzsignature", "xamzcredential"})
"""Names that are credentials as URL query parameters (``?key=AIza…``, presigned ``sig=``), not as keys."""
_SHORT_KEY: Final = 256


def _compact(key: str) -> str:
    return _NOT_ALNUM.sub("", key.lower())


def _names_a_credential(compact: str) -> bool:
    return compact.endswith(_KEY_ENDINGS) or any(fragment in compact for fragment in _KEY_FRAGMENTS)


@functools.lru_cache(maxsize=4096)
def _short_key_is_secret(key: str) -> bool:
    return _names_a_credential(_compact(key))


def is_secret_key(key: str) -> bool:
    """Tell whether a mapping key names a credential (``api_key``, ``Authorization``, ``auth_token``, ...)."""
    if len(key) <= _SHORT_KEY:  # cached: every run of a request carries the same metadata keys
        return _short_key_is_secret(key)
    return _names_a_credential(_compact(key))


# --- credential-looking text ----------------------------------------------------------------------------


class _Rule(NamedTuple):
    """A built-in pattern, its replacement, and the literals one of which must be in a text it can match."""

    pattern: re.Pattern[str]
    replacement: str | Callable[[re.Match[str]], str]
    literals: tuple[str, ...]
    lowered: bool = False
    """Look for the literals in the text lowercased (the pattern ignores case)."""
    hints: tuple[str, ...] = ()
    """When given, one of these must be in the lowercased text too."""


_ASSIGNMENT: Final = re.compile(
    # A name (a whole word: the look-behind stops attempts inside one), ``=`` or ``:``, and a value: quoted,
    # or up to the next separator (an ``Authorization: Bearer x`` value includes its scheme). An unquoted value
    # stops at ``?`` and ``=``, so a name that is no credential (``https`` in ``https://h/?token=x``) cannot
    # swallow the pair after it.
    r"(?<![\w.\-])(?P<name>[\w.\-]{1,128})(?P<sep>[\"']?[ \t]{0,3}[:=][ \t]{0,3})"
    r"(?P<value>\"[^\"\n]{0,1024}\"|'[^'\n]{0,1024}'|(?:(?i:bearer|basic|token)[ \t]+)?[^\s&#\"',;<>?=]+=*)"
)
_ASSIGNMENT_HINTS: Final = ("key", "token", "secret", "pass", "pwd", "credential", "auth", "cookie", "jwt", "sig")


def _redact_assignment(match: re.Match[str]) -> str:
    name, separator, value = match.group("name", "sep", "value")
    quote = value[0] if value[0] in "\"'" else ""
    if value.strip("\"'").startswith(REDACTED[:-1]):  # already replaced by a pattern that ran before
        return match.group(0)
    if not is_secret_key(name):
        start = match.start()
        in_query = start > 0 and match.string[start - 1] in "?&;"
        if not (in_query and _compact(name) in _QUERY_ONLY_KEYS):
            return match.group(0)
    return f"{name}{separator}{quote}{REDACTED}{quote}"


_START: Final = r"(?<![A-Za-z0-9])"
"""Where a key may start: not inside a word (``task-…`` is no ``sk-`` key), but after ``_`` (``fetch_sk-…``)."""

_RULES: Final = (
    # OpenAI, Anthropic, DeepSeek, ... keys (``*`` included: OpenAI's error echoes a key half-masked).
    _Rule(re.compile(_START + r"sk-[A-Za-z0-9_\-*]{12,}"), REDACTED, ("sk-",)),
    # Stripe secret and restricted keys.
    _Rule(re.compile(_START + r"[rs]k_(?:live|test)_[A-Za-z0-9]{16,}"), REDACTED, ("k_live_", "k_test_")),
    _Rule(re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/\-]{8,}=*"), REDACTED, ("bearer",), lowered=True),
    # HTTP Basic credentials (base64 of user:password).
    _Rule(re.compile(r"(?i)\bbasic\s+[A-Za-z0-9+/]{8,}=*"), REDACTED, ("basic",), lowered=True),
    # AWS access key ids (long-lived and temporary).
    _Rule(re.compile(_START + r"(?:AKIA|ASIA)[0-9A-Z]{16}(?![0-9A-Z])"), REDACTED, ("AKIA", "ASIA")),
    _Rule(re.compile(_START + r"AIza[0-9A-Za-z_\-]{20,}"), REDACTED, ("AIza",)),  # Google API keys
    # GitHub: classic tokens and fine-grained personal access tokens; GitLab; Slack; Hugging Face.
    _Rule(
        re.compile(_START + r"(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})"),
        REDACTED,
        ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"),
    ),
    _Rule(re.compile(_START + r"glpat-[A-Za-z0-9_\-]{20,}"), REDACTED, ("glpat-",)),
    _Rule(re.compile(_START + r"xox[abposr]-[A-Za-z0-9\-]{10,}"), REDACTED, ("xox",)),
    _Rule(re.compile(_START + r"hf_[A-Za-z0-9]{30,}"), REDACTED, ("hf_",)),
    # A PEM private key: the header and the base64 body (which cannot contain the next header's dashes).
    _Rule(re.compile(r"-----BEGIN[A-Z ]{0,40}PRIVATE KEY-----[A-Za-z0-9+/=\s]*"), REDACTED, ("PRIVATE KEY",)),
    # URL userinfo (``postgresql://app:pw@host``, ``https://token@host``): the part before ``@``, which cannot
    # contain ``/``, so a failing attempt never scans past the next ``://``.
    _Rule(re.compile(r"://[^\s/?#@]+@"), f"://{REDACTED}@", ("://",)),
    # ``password=…``, ``"api_key": "…"``, ``Authorization: Bearer …``, ``?token=…``, ``&key=…``. Last, so a
    # value the patterns above replaced is recognised and left alone.
    _Rule(_ASSIGNMENT, _redact_assignment, ("=", ":"), hints=_ASSIGNMENT_HINTS),
)


class Redactor:
    """Replaces secrets in text and in nested values: the built-in rules, then the user's patterns.

    Args:
        extra_patterns: The user's patterns (``LC_OTEL_REDACT_PATTERNS``); each match becomes ``[REDACTED]``.
        max_length: Characters kept of a captured value; text past it (and a margin) is dropped before the
            patterns run, and a walk over nested values produces at most about this much.
    """

    def __init__(self, extra_patterns: Sequence[re.Pattern[str]] = (), *, max_length: int | None = None) -> None:
        self._extra = tuple(extra_patterns)
        self._limit = None if max_length is None else max(1, max_length)
        self._names: dict[str, str] = {}

    def redact(self, text: str) -> str:
        """Replace every credential-looking match in ``text`` (all of it: callers cut first)."""
        if not text:
            return text
        lowered = text.lower()
        for pattern, replacement, literals, in_lowered, hints in _RULES:
            # Substring searches first (a few for short text): most text holds no secret.
            haystack = lowered if in_lowered else text
            for literal in literals:
                if literal in haystack:
                    break
            else:
                continue
            if hints and not any(hint in lowered for hint in hints):
                continue
            text, count = pattern.subn(replacement, text)
            if count:
                lowered = text.lower()
        for pattern in self._extra:
            text = pattern.sub(REDACTED, text)
        return text

    def text(self, value: str) -> str:
        """Replace every credential-looking match in ``value``, first cut to the length limit plus a margin."""
        if self._limit is not None and len(value) > self._limit + MATCH_MARGIN:
            value = value[: self._limit + MATCH_MARGIN]
        return self.redact(value)

    def head(self, value: str, max_length: int) -> str:
        """Redact the start of ``value`` and cut it to ``max_length``, marking the cut."""
        return cut(self.redact(value[: max_length + MATCH_MARGIN]), max_length)

    def tail(self, value: str, max_length: int) -> str:
        """Redact the end of ``value`` (a stacktrace's last frames) and keep ``max_length`` of it."""
        if len(value) > max_length + MATCH_MARGIN:
            value = value[-(max_length + MATCH_MARGIN) :]
        value = self.redact(value)
        if len(value) <= max_length:
            return value
        return "…" + value[len(value) - max(0, max_length - 1) :]

    def name(self, value: str) -> str:
        """Redact ``value`` and cut it to :data:`MAX_NAME_LENGTH`: names, tags, metadata keys and values.

        Cached: every run of a request carries the same few names, tags and metadata.
        """
        window = value if len(value) <= _NAME_WINDOW else value[:_NAME_WINDOW]
        found = self._names.get(window)
        if found is None:
            found = self.redact(window)[:MAX_NAME_LENGTH]
            if len(self._names) >= _NAME_CACHE_SIZE:
                self._names.clear()  # crude but bounded; a working set this large is unusual
            self._names[window] = found
        return found

    def value(self, value: Any, *, budget: int | None = None) -> Any:
        """Return a JSON-friendly copy of ``value`` with secrets replaced, of bounded size.

        The walk stops when it has produced ``budget`` characters (the length limit plus one by default), so
        its work is bounded whatever the input: an enormous collection, a value shared a billion times over
        (a DAG), or one that contains itself (rendered ``"[...]"``, like anything nested deeper than 32).
        """
        if budget is None:
            budget = _DEFAULT_BUDGET if self._limit is None else self._limit + 1
        return _Walk(self, budget).visit(value, 0)


BUILTIN_REDACTOR: Final = Redactor()
"""The built-in rules only: for callers that are given no handler's redactor."""


class _Walk:
    """One bounded walk over a nested value: the characters left, and the containers being rendered."""

    __slots__ = ("_active", "_budget", "_redactor")

    def __init__(self, redactor: Redactor, budget: int) -> None:
        self._redactor = redactor
        self._budget = budget
        self._active: set[int] = set()

    def _text(self, text: str) -> str:
        room = max(self._budget, 0) + 1  # one past the budget: a cut is then visible to the caller's cut
        if len(text) <= _SHORT_TEXT:
            text = self._redactor.name(text)  # keys and short values repeat from run to run: cached
        else:
            if len(text) > room + MATCH_MARGIN:
                text = text[: room + MATCH_MARGIN]
            text = self._redactor.redact(text)
        if len(text) > room:
            text = text[:room]
        self._budget -= len(text)
        return text

    def visit(self, value: Any, depth: int) -> Any:
        self._budget -= 1  # every value renders as one character at least
        kind = type(value)
        if kind is str:  # the exact types first: nearly every value is one, and they skip the ABC checks
            return self._text(value)
        if value is None or kind is int or kind is float or kind is bool:
            return value
        if isinstance(value, bool | int | float):
            return value
        if isinstance(value, str):
            return self._text(value)
        if type(value).__name__ in {"SecretStr", "SecretBytes"}:
            return REDACTED
        if isinstance(value, bytes | bytearray | memoryview):
            return f"<{len(value)} bytes>"
        if depth >= _MAX_DEPTH or id(value) in self._active:
            return _CUT_MARK
        self._active.add(id(value))
        try:
            return self._container(value, depth)
        except Exception:  # noqa: BLE001 - a foreign container may fail to iterate; render what it is
            return self._text(f"<unprintable {type(value).__name__}>")
        finally:
            self._active.discard(id(value))

    def _container(self, value: Any, depth: int) -> Any:
        if type(value) is dict or isinstance(value, Mapping):
            if value.get("type") == "secret" and value.get("lc") == 1:  # LangChain's serialized secret
                return REDACTED
            return self._mapping(value.items(), depth)
        if type(value) is list or isinstance(value, list | tuple | set | frozenset):
            items: list[Any] = []
            for item in value:
                if self._budget <= 0:
                    break
                items.append(self.visit(item, depth + 1))
            return items
        fields = _pydantic_fields(value)
        if fields is not None:
            return self._mapping(((name, getattr(value, name, None)) for name in fields), depth)
        dumped = _model_dump(value)
        if dumped is not None:
            return self.visit(dumped, depth + 1)
        return self._text(coerce_text(value))

    def _mapping(self, items: Any, depth: int) -> dict[str, Any]:
        clean: dict[str, Any] = {}
        for key, item in items:
            if self._budget <= 0:
                break
            text = key if type(key) is str else coerce_text(key)
            cleaned = self._text(text)  # before the value: the key comes first in the output and the budget
            clean[cleaned] = REDACTED if is_secret_key(text) else self.visit(item, depth + 1)
        return clean


def _pydantic_fields(value: Any) -> list[str] | None:
    """The fields of a pydantic model (read one by one: ``model_dump`` would copy a shared value each time)."""
    fields = getattr(type(value), "model_fields", None)
    if not isinstance(fields, Mapping) or not hasattr(value, "__pydantic_fields_set__"):
        return None
    return [name for name, info in fields.items() if not getattr(info, "exclude", False)]


def _model_dump(value: Any) -> Any:
    """Read another object with ``model_dump`` (a LangChain ``Serializable``, a pydantic v1 model) as data."""
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        try:
            return dump()
        except Exception:  # noqa: BLE001 - foreign objects may fail to dump; fall back to str
            return None
    return None

"""Which function of which LangChain module gets which wrapper (see :mod:`.wrappers` for why each)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, Final

from lc_otel._propagation.wrappers import (
    wrap_amodel_call,
    wrap_astream,
    wrap_model_call,
    wrap_retriever_ainvoke,
    wrap_retriever_invoke,
    wrap_set_config_context,
    wrap_stream,
)


@dataclasses.dataclass(frozen=True)
class Target:
    """One function to wrap: ``module.owner.name`` (or ``module.name``) and how."""

    module: str
    owner: str | None
    """A class in ``module``, or ``None`` for a module-level function."""
    name: str
    wrap: Callable[[Callable[..., Any]], Callable[..., Any]]
    when_imported: bool = False
    """Patch only once the application imports ``module``, never import it: importing LangGraph gives a process
    that does not use it thousands of objects more, which every full garbage collection then walks."""


_CHAT: Final = "langchain_core.language_models.chat_models"
_LLM: Final = "langchain_core.language_models.llms"

TARGETS: Final = (
    Target("langchain_core.runnables.config", None, "_set_config_context", wrap_set_config_context),
    # LangGraph runs its nodes with its own copy of the same helper (1.x: _internal._runnable, 0.x: utils.runnable).
    Target("langgraph._internal._runnable", None, "_set_config_context", wrap_set_config_context, True),
    Target("langgraph.utils.runnable", None, "_set_config_context", wrap_set_config_context, True),
    Target(_CHAT, "BaseChatModel", "_generate_with_cache", lambda f: wrap_model_call(f, "run_manager", 2)),
    Target(_CHAT, "BaseChatModel", "_agenerate_with_cache", lambda f: wrap_amodel_call(f, "run_manager", 2)),
    Target(_CHAT, "BaseChatModel", "stream", wrap_stream),
    Target(_CHAT, "BaseChatModel", "astream", wrap_astream),
    Target(_LLM, "BaseLLM", "_generate_helper", lambda f: wrap_model_call(f, "run_managers", 2)),
    Target(_LLM, "BaseLLM", "_agenerate_helper", lambda f: wrap_amodel_call(f, "run_managers", 2)),
    Target(_LLM, "BaseLLM", "stream", wrap_stream),
    Target(_LLM, "BaseLLM", "astream", wrap_astream),
    Target("langchain_core.retrievers", "BaseRetriever", "invoke", wrap_retriever_invoke),
    Target("langchain_core.retrievers", "BaseRetriever", "ainvoke", wrap_retriever_ainvoke),
)
"""Applied in this order by :func:`lc_otel._propagation.install.install`."""

__all__ = ["TARGETS", "Target"]

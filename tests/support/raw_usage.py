"""A chat model that reports usage only the way older integrations do: raw provider counts in ``llm_output``."""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult


class RawUsageModel(BaseChatModel):
    """Answers ``answer`` with ``token_usage`` as ``llm_output["token_usage"]`` and no ``usage_metadata``."""

    token_usage: dict[str, Any]
    answer: str = "ok"

    @property
    def _llm_type(self) -> str:
        return "raw-usage"

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return ChatResult(
            generations=[ChatGeneration(message=AIMessage(self.answer))], llm_output={"token_usage": self.token_usage}
        )

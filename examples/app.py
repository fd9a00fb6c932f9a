"""A small LangChain application with no tracing code: a prompt, a chat model, a parser.

It uses a fake chat model, so it runs offline. Trace it without changing it:

    OTEL_SERVICE_NAME=demo-app OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4318 \
        opentelemetry-instrument python examples/app.py
"""

from __future__ import annotations

import sys

from langchain_core.language_models.fake_chat_models import FakeListChatModel
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate


def main() -> None:
    prompt = ChatPromptTemplate.from_messages(
        [("system", "You answer in one word."), ("human", "What colour is the {thing}?")]
    )
    model = FakeListChatModel(responses=["Blue.", "Green."])
    chain = (prompt | model | StrOutputParser()).with_config(
        run_name="colour_chain", tags=["example"], metadata={"app": "examples/app.py"}
    )
    for thing in sys.argv[1:] or ["sky", "grass"]:
        print(thing, "->", chain.invoke({"thing": thing}, {"metadata": {"thing": thing}}))


if __name__ == "__main__":
    main()

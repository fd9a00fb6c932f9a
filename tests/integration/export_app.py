"""A LangChain app that exports through ``lc_otel.configure()`` + ``instrument()``, run as a subprocess.

Usage: ``python -m tests.integration.export_app MARKER ENDPOINT PROTOCOL``. It runs one chain whose spans
carry ``langchain.metadata.marker = MARKER`` and exits without flushing: the flush at exit is under test too.
"""

from __future__ import annotations

import sys

from langchain_core.messages import HumanMessage
from langchain_core.output_parsers import StrOutputParser
from langchain_core.runnables import RunnableLambda

from lc_otel._export.configure import configure
from lc_otel._instrument import instrument
from lc_otel.testing import FakeChatModel, reply


def main(marker: str, endpoint: str, protocol: str) -> None:
    configure(service_name="lc-otel-e2e", endpoint=endpoint, protocol=protocol)
    instrument()
    prepare = RunnableLambda(lambda question: [HumanMessage(question)]).with_config(run_name="prepare")
    model = FakeChatModel(responses=[reply("Blue.", input_tokens=11, output_tokens=7)])
    chain = (prepare | model | StrOutputParser()).with_config(
        run_name="e2e_chain",
        tags=["production", "e2e"],
        metadata={"marker": marker, "user_id": "u-42", "attempt": 3},
    )
    print(chain.invoke("What colour is the sky?"))


if __name__ == "__main__":
    main(*sys.argv[1:4])

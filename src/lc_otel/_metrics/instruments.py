"""The GenAI client histograms, as the semantic conventions (v1.41) name and bucket them.

The conventions advise explicit bucket boundaries; the API takes them as ``explicit_bucket_boundaries_advisory``
(opentelemetry-api 1.23 and later). An older API gets the instruments without the advice, and the SDK's
default boundaries apply.

Each point is recorded in the measured run's context, for the SDK's exemplars (``record(..., context)``,
opentelemetry-api 1.28 and later); with an older API the context is left out and exemplars, which it does not
have, are not missed.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable
from typing import Any, Final

from opentelemetry.context import Context
from opentelemetry.metrics import Histogram, Meter

TOKEN_USAGE: Final = "gen_ai.client.token.usage"
OPERATION_DURATION: Final = "gen_ai.client.operation.duration"
TIME_TO_FIRST_CHUNK: Final = "gen_ai.client.operation.time_to_first_chunk"
TIME_PER_OUTPUT_CHUNK: Final = "gen_ai.client.operation.time_per_output_chunk"

TOKEN_TYPE: Final = "gen_ai.token.type"
"""``input`` or ``output``, on ``gen_ai.client.token.usage`` only."""

TOKEN_BUCKETS: Final = (
    1,
    4,
    16,
    64,
    256,
    1024,
    4096,
    16384,
    65536,
    262144,
    1048576,
    4194304,
    16777216,
    67108864,
)
DURATION_BUCKETS: Final = (0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92)


Record = Callable[[float, Any, Context], None]
"""Record one point: ``(amount, attributes, context)``."""


def _takes_context(histogram: Histogram) -> bool:
    try:
        return "context" in inspect.signature(histogram.record).parameters
    except (TypeError, ValueError):  # a record() that cannot be introspected: call it the way every API takes
        return False


def _recorder(histogram: Histogram) -> Record:
    """``histogram.record`` itself, or, for an API older than 1.28, a function that leaves the context out."""
    if _takes_context(histogram):
        return histogram.record

    def record(amount: float, attributes: Any, context: Context) -> None:
        histogram.record(amount, attributes)

    return record


def _histogram(meter: Meter, name: str, unit: str, description: str, buckets: tuple[float, ...]) -> Record:
    try:
        histogram = meter.create_histogram(
            name, unit=unit, description=description, explicit_bucket_boundaries_advisory=buckets
        )
    except TypeError:  # an API older than 1.23 knows no advice
        histogram = meter.create_histogram(name, unit=unit, description=description)
    return _recorder(histogram)


@dataclasses.dataclass(frozen=True, slots=True)
class Instruments:
    """How to record a point on each of the four histograms lc_otel records, made once per meter."""

    token_usage: Record
    duration: Record
    time_to_first_chunk: Record
    time_per_output_chunk: Record

    @classmethod
    def create(cls, meter: Meter) -> Instruments:
        """Create the histograms on ``meter``."""
        return cls(
            token_usage=_histogram(
                meter, TOKEN_USAGE, "{token}", "Number of input and output tokens used.", TOKEN_BUCKETS
            ),
            duration=_histogram(meter, OPERATION_DURATION, "s", "GenAI operation duration.", DURATION_BUCKETS),
            time_to_first_chunk=_histogram(
                meter,
                TIME_TO_FIRST_CHUNK,
                "s",
                "Time to receive the first chunk of a streamed response.",
                DURATION_BUCKETS,
            ),
            time_per_output_chunk=_histogram(
                meter,
                TIME_PER_OUTPUT_CHUNK,
                "s",
                "Time between output chunks of a streamed response, after the first.",
                DURATION_BUCKETS,
            ),
        )

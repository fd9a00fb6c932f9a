"""The handler's settings from the environment: precedence, and a bad value falls back instead of raising."""

from __future__ import annotations

import pytest

from lc_otel import Settings

_NUMERIC_VARIABLES = (
    "LC_OTEL_MAX_CONTENT_LENGTH",
    "LC_OTEL_MAX_OPEN_RUNS",
    "LC_OTEL_MAX_RUN_AGE",
    "LC_OTEL_EXPORT_TIMEOUT",
    "LC_OTEL_RETRY_AFTER",
    "LC_OTEL_SHUTDOWN_TIMEOUT",
    "OTEL_BSP_MAX_QUEUE_SIZE",
    "OTEL_BSP_MAX_EXPORT_BATCH_SIZE",
)


@pytest.mark.parametrize("value", ["inf", "1e999", "-inf"])
def test_an_infinite_number_in_the_environment_falls_back_to_the_default(value: str) -> None:
    """``int(inf)`` raises: an infinite count or age is a bad value, and the default applies."""
    settings = Settings.from_env(dict.fromkeys(_NUMERIC_VARIABLES, value))
    assert settings == Settings()


def test_a_bad_lc_otel_capture_value_falls_back_to_the_genai_switch() -> None:
    """Explicit > ``LC_OTEL_*`` > ``OTEL_*`` > default, and a bad value falls back to the next one."""
    genai_on = {"OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "SPAN_ONLY"}
    assert Settings.from_env({**genai_on, "LC_OTEL_CAPTURE_CONTENT": "maybe"}).capture_content is True
    assert Settings.from_env({**genai_on, "LC_OTEL_CAPTURE_CONTENT": "false"}).capture_content is False
    assert Settings.from_env({"LC_OTEL_CAPTURE_CONTENT": "maybe"}).capture_content is False

"""``reset()``: lc_otel's process-wide state back to how a fresh process has it, between tests."""

from __future__ import annotations

from lc_otel import _instrument
from lc_otel._internal_errors import reset_reported_errors
from lc_otel._propagation import install as propagation


def reset() -> None:
    """Undo what lc_otel changed in the process, so the next test starts from a clean slate.

    * :func:`lc_otel.instrument` is switched off (LangChain cannot remove its hook: a later ``instrument()``
      switches the same process-wide handler on again, with the options of the first call).
    * LangChain is unpatched and the explicit ``propagate_context`` decision forgotten: the next handler patches
      it again, unless ``LC_OTEL_PROPAGATE_CONTEXT=false``.
    * Internal errors already logged are forgotten, so they are logged again.

    The global tracer provider (set by :func:`lc_otel.configure`) stays: OpenTelemetry sets it once per process.
    """
    _instrument.uninstrument()
    propagation.reset()
    reset_reported_errors()


__all__ = ["reset"]

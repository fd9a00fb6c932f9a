"""Context propagation: the run's span is current while LangChain runs the step's own code.

The handler parents spans explicitly and never attaches a context in a callback: a context attached in
``on_*_start`` cannot be detached in ``on_*_end`` (a shielded task, an executor thread or an interleaved stream
runs the end event in another context). Spans that *other* code creates inside a step (httpx instrumentation, a
user's ``start_as_current_span`` in a tool) would then hang off the caller's span instead of the step's.

This package fixes that at the few places where LangChain itself runs a step's body, with a context that
lives exactly as long as the body (see :mod:`.wrappers` for each place). It reads the open runs of
:mod:`lc_otel._tracing` and never the other way round. Its modules, lowest first:

* :mod:`.lookup`: a run id to the context its span is current in, and a stand-in span for a run not yet started.
* :mod:`.state`: whether propagation is on (read by every wrapper, set by :mod:`.install`).
* :mod:`.attach`: making such a context current and undoing it, never raising.
* :mod:`.wrappers`: the wrappers put around LangChain's functions.
* :mod:`.targets`: which function of which module gets which wrapper.
* :mod:`.install`: patching and unpatching LangChain (``install`` / ``uninstall``), the switch's public side.
"""

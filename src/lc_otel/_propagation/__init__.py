"""Context propagation: the run's span is current while LangChain runs the step's own code."""

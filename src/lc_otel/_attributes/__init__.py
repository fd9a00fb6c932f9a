"""The mapping from LangChain runs to span attributes: semantic conventions, tags, metadata, GenAI, content."""

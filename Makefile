# lc-otel: `make demo` shows a trace, `make test` runs everything. Both create .venv themselves.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

COMPAT := .ci/.compat
# The core tests again on the oldest LangChain we support (langchain-core 0.3.x).
COMPAT_TESTS := tests/unit/test_execution_modes.py tests/unit/test_errors_and_cancellation.py \
	tests/unit/test_robustness.py tests/unit/test_tags_and_metadata.py

.PHONY: demo test lint typecheck unit compat bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/lc-otel demo

lint: $(STAMP)
	$(BIN)/ruff check src tests examples benchmarks
	$(BIN)/ruff format --check src tests examples benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/python -m pytest tests/unit

$(COMPAT)/.installed: pyproject.toml
	$(PYTHON) -m venv $(COMPAT)
	$(COMPAT)/bin/python -m pip install --quiet 'langchain-core>=0.3,<0.4' opentelemetry-sdk opentelemetry-exporter-otlp \
		opentelemetry-instrumentation wrapt pytest pytest-asyncio hypothesis
	$(COMPAT)/bin/python -m pip install --quiet --no-deps -e .
	touch $@

compat: $(COMPAT)/.installed
	$(COMPAT)/bin/python -m pytest -p no:cacheprovider -q $(COMPAT_TESTS)

test: lint typecheck compat
	scripts/with-backend.sh $(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) $(COMPAT) .ci/.phoenix .ci/.uv .mypy_cache .ruff_cache .pytest_cache

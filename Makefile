# lc-otel: `make demo` shows a trace, `make test` runs everything. Both create .venv themselves.
#
# The development and test dependencies are locked (requirements/dev.lock, compat.lock, build.lock) and
# installed with uv (scripts/uv.sh installs the pinned uv from PyPI), so a fresh clone tests what the last green
# run had. `make lock` updates the locks after a change to pyproject.toml (existing pins are kept);
# `make lock-upgrade` moves every pin to the newest release; `make test-latest` runs the suite on the newest
# releases without touching the locks.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
UV := scripts/uv.sh
LOCK := requirements/dev.lock
COMPAT_LOCK := requirements/compat.lock
BUILD_LOCK := requirements/build.lock
# The unit suite runs on each of these too (the full suite, with the backend, on .venv's Python, 3.11 in CI).
MATRIX := 3.10 3.12 3.13
LOCK_FLAGS := --quiet --universal --python-version 3.10 --custom-compile-command "make lock"

COMPAT := .ci/.compat
# The core tests again on the oldest LangChain and OpenTelemetry we support (langchain-core 0.3.x,
# opentelemetry 1.27): files that import neither langchain nor langgraph (the compat venv has neither).
COMPAT_TESTS := tests/unit/test_execution_modes.py tests/unit/test_errors_and_cancellation.py \
	tests/unit/test_robustness.py tests/unit/test_tags_and_metadata.py tests/unit/test_content.py \
	tests/unit/test_genai_providers.py tests/unit/test_genai_spans.py tests/unit/test_global.py \
	tests/unit/test_settings.py tests/unit/test_testing.py tests/security/test_budgets.py \
	tests/security/test_fork.py tests/security/test_lifecycle.py tests/security/test_many_handlers.py
LATEST := .ci/.latest

.PHONY: demo test lint typecheck unit compat matrix $(addprefix unit-,$(MATRIX)) full lock lock-upgrade \
	lock-check test-latest bench clean

$(STAMP): pyproject.toml $(LOCK)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(UV) pip install --quiet --python $(BIN)/python -r $(LOCK) -e '.[dev]'
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

$(COMPAT)/.installed: pyproject.toml $(COMPAT_LOCK)
	rm -rf $(COMPAT)
	$(UV) venv --quiet --python $(PYTHON) $(COMPAT)
	$(UV) pip install --quiet --python $(COMPAT)/bin/python -r $(COMPAT_LOCK)
	$(UV) pip install --quiet --python $(COMPAT)/bin/python --no-deps -e .
	touch $@

compat: $(COMPAT)/.installed
	$(COMPAT)/bin/python -m pytest -p no:cacheprovider -q $(COMPAT_TESTS)

# The unit suite on one more CPython, in its own locked venv (.ci/.py3.10, ...).
$(addprefix unit-,$(MATRIX)): unit-%:
	scripts/test-python.sh $*

matrix: $(addprefix unit-,$(MATRIX))

# Everything, integration tests with a real backend and the packaging checks (tests/packaging) included.
full: $(STAMP)
	scripts/with-backend.sh $(BIN)/python -m pytest

test: lock-check lint typecheck compat matrix full

# The locks agree with pyproject.toml (a dependency added there is not missing from them).
lock-check:
	scripts/lock.sh --check

lock:
	scripts/lock.sh

lock-upgrade:
	scripts/lock.sh --upgrade

# The whole suite on the newest releases of everything (no lock), in .ci/.latest: drift seen before it bites.
# Not part of `make test`: a new upstream release must not turn the build red by itself.
test-latest:
	rm -rf $(LATEST)
	$(UV) venv --quiet --python $(PYTHON) $(LATEST)
	$(UV) pip install --quiet --refresh --python $(LATEST)/bin/python -e '.[dev]'
	$(UV) pip list --python $(LATEST)/bin/python 2>/dev/null | grep -iE '^(langchain-core|opentelemetry-sdk|protobuf) '
	scripts/with-backend.sh $(LATEST)/bin/python -m pytest -p no:cacheprovider

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) $(COMPAT) $(LATEST) $(addprefix .ci/.py,$(MATRIX)) .ci/.phoenix .ci/.uv .ci/.cache \
		.mypy_cache .ruff_cache .pytest_cache

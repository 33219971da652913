# A newcomer needs two commands: `make demo` and `make test`. Both build .venv themselves.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# PyTorch is an optional oracle for the tests. Where its CPU wheel lies on disk we install it;
# elsewhere the PyTorch comparison tests are skipped (they are never the only evidence).
TORCH_WHEEL_DIR ?= /opt/wheels
REPORT_DIR ?= cnnblocks-report

.PHONY: all install test lint typecheck pytest demo demo-quick bench clean

all: test

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@if ls $(TORCH_WHEEL_DIR)/torch-2.13.0* >/dev/null 2>&1; then \
		echo "installing the PyTorch 2.13.0 CPU oracle from $(TORCH_WHEEL_DIR)"; \
		$(BIN)/python -m pip install --quiet --find-links $(TORCH_WHEEL_DIR) 'torch==2.13.0'; \
	else \
		echo "no PyTorch 2.13.0 wheel in $(TORCH_WHEEL_DIR): PyTorch parity tests will be skipped"; \
	fi
	touch $(STAMP)

install: $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/python -m pytest -n 2 --timeout 600 $(PYTEST_ARGS)

test: lint typecheck pytest

demo: $(STAMP)
	$(BIN)/cnnblocks demo --out $(REPORT_DIR)

demo-quick: $(STAMP)
	$(BIN)/cnnblocks demo --quick --out $(REPORT_DIR)

bench: $(STAMP)
	$(BIN)/python -m benchmarks.run $(BENCH_ARGS)
	$(BIN)/python -m benchmarks.bench_operators

clean:
	rm -rf $(VENV) $(REPORT_DIR) .mypy_cache .ruff_cache .pytest_cache .hypothesis

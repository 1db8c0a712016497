PY ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test bench lint clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

demo: $(BIN)/python
	$(BIN)/pip install -q -e .
	$(BIN)/python examples/hello.py
	cd examples && ../$(BIN)/rillet run --home ../.rillet-demo hello.py:hello_world --name demo

test: $(BIN)/python
	$(BIN)/pip install -q -e '.[dev]'
	$(BIN)/ruff check rillet tests examples benchmarks
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/pytest -q

bench: $(BIN)/python
	$(BIN)/pip install -q -e '.[dev]'
	$(BIN)/python benchmarks/overhead.py --peers

clean:
	rm -rf $(VENV) .rillet .rillet-demo .bench

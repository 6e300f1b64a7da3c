# Two entry points: `make demo` and `make test`. Both create .venv if missing and install into it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# torch pinned to the CPU build that lies on local disk; a plain `torch` requirement would pull CUDA.
TORCH := torch==2.13.0

.PHONY: demo test test-all lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install -q $(TORCH)
	$(BIN)/pip install -q -e '.[test,importance,peers]'
	touch $(STAMP)

# Equal cost: every algorithm gets the same 110 table queries per run (their defaults differ: RS 1,000, SH-EMOA 1,310).
demo: $(STAMP)
	$(BIN)/ecnas compare --algorithms semoa shemoa msehvi rs parego-hb --seeds 3 --max-evaluations 110 --out demo-out

test: $(STAMP)
	$(BIN)/ruff check ecnas tests benchmarks
	$(BIN)/python -m pytest -q

test-all: $(STAMP)
	$(BIN)/python -m pytest -q -m ''

lint: $(STAMP)
	$(BIN)/ruff check ecnas tests benchmarks

clean:
	rm -rf $(VENV) demo-out build dist *.egg-info

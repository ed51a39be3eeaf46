# Two commands on a fresh machine:  make run (the API on SQLite)  ·  make test
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin

.PHONY: setup run demo test eval bench clean

$(VENV)/.installed: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

setup: $(VENV)/.installed

run: setup
	$(BIN)/huashu serve

demo: setup
	$(BIN)/huashu analyze examples/call-0001.txt --format text

test: setup
	$(BIN)/python -m pytest

eval: setup
	$(BIN)/huashu eval

bench: setup
	$(BIN)/python bench/matcher_speed.py
	$(BIN)/python bench/api_load.py

clean:
	rm -rf $(VENV) .pytest_cache

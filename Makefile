# make serve: set up .venv and serve the shipped data on http://127.0.0.1:$(PORT)
# make test:  set up .venv with the test extras and run the whole suite
# The first Python 3.11+ of: the system's python3 (distributions build it with PGO and LTO), then
# python3 on PATH. A pyenv build without --enable-optimizations ran `timeit "sum(range(1000))"` in
# 16 us against the system's 8.4 us on the machine the benchmark figures come from.
# make PYTHON=python3.12 picks another.
PYTHON ?= $(shell for p in /usr/bin/python3 python3; do \
  $$p -c 'import sys, venv, ensurepip; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1 && { echo $$p; break; }; done)
PORT ?= 8000
HOST ?= 127.0.0.1
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: serve test lint format bench fuzz load clean screenshots

$(BIN)/python:
	@test -n "$(PYTHON)" || { echo "make: needs Python 3.11 or newer with venv (apt-get install python3-venv)"; exit 1; }
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

serve: $(STAMP)
	$(BIN)/feeds serve --data-dir data --host $(HOST) --port $(PORT)

test: $(STAMP)
	$(BIN)/ruff check feeds tests wsgi.py
	$(BIN)/ruff format --check feeds tests wsgi.py
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check feeds tests wsgi.py

format: $(STAMP)
	$(BIN)/ruff format feeds tests wsgi.py
	$(BIN)/ruff check --fix feeds tests wsgi.py

# Speed and memory against Hugo (builds) and nginx (serving), one table; see bench/bench.py.
bench: $(STAMP)
	@command -v wrk >/dev/null && command -v hugo >/dev/null && command -v nginx >/dev/null || \
	  { [ "$$(id -u)" = 0 ] && apt-get install -y -q wrk hugo nginx >/dev/null 2>&1 || true; }
	$(BIN)/python bench/bench.py

# A bounded atheris run over the parser and every renderer.
FUZZ_SECONDS ?= 60
fuzz: $(STAMP)
	$(BIN)/python -m pip install --quiet 'atheris>=2.3,<4'
	$(BIN)/python fuzz/fuzz_feeds.py -max_total_time=$(FUZZ_SECONDS) -max_len=4096

# Every kind of page and feed preview in headless Chromium, at 1280 and 390 px, light and dark, into
# tests/screenshots/ (git ignores it); needs chromium (apt-get install chromium).
screenshots: $(STAMP)
	$(BIN)/python -m pytest tests/test_browser.py -k screenshots -q -p no:cacheprovider
	@echo "screenshots in tests/screenshots/"

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info

# A bounded load run with wrk against the production server, then again while the data is
# rewritten every second; see load/run.py. LOAD_SECONDS (default 30) sets each phase's length.
load: $(STAMP)
	@if ! command -v wrk >/dev/null 2>&1; then \
	  echo "make load: skipped: wrk is not installed (apt-get install wrk)"; \
	else \
	  $(BIN)/python load/run.py; \
	fi

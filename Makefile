# Every target installs what it needs: a fresh machine needs only Python 3 and make.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
ARGS ?=

.PHONY: setup system-deps ui-deps serve test lint contract bench screenshots dist clean

setup: $(STAMP)

# The first run installs for about a minute, quietly: say so, and what it does.
$(STAMP): pyproject.toml
	@echo "apixo-mock: setting up $(VENV) (first run only, about a minute)..."
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "apixo-mock: installing apixo-mock and its dependencies into $(VENV)..."
	@$(BIN)/python -m pip install --quiet --upgrade pip
	@$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)
	@echo "apixo-mock: installed."

# make serve PORT=9000 ARGS="--profile instant --seed 1"
serve: $(STAMP)
	$(BIN)/apixo-mock serve --host $(HOST) --port $(PORT) $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# Tests run in worker processes, one per core up to 4 (each worker starts its own servers);
# TEST_WORKERS=0 runs them in this process. The tests of each group in conftest.py's
# XDIST_GROUPS share one worker, and so the expensive fixture they use.
TEST_WORKERS ?= $(shell n=$$(nproc 2>/dev/null || echo 1); echo $$(( n < 4 ? n : 4 )))

test: lint system-deps ui-deps
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadgroup $(ARGS)

# Debian packages the tests run for real, as command:package; installed when missing.
SYSTEM_TOOLS := redis-server:redis-server chromium:chromium chromedriver:chromium-driver
APT := $(if $(filter 0,$(shell id -u)),,sudo -n) env DEBIAN_FRONTEND=noninteractive apt-get

system-deps:
	@for pair in $(SYSTEM_TOOLS); do \
		tool=$${pair%%:*}; package=$${pair#*:}; command -v $$tool >/dev/null && continue; \
		echo "apixo-mock: installing $$package (Debian package) for the tests..."; \
		$(APT) install -y -q $$package >/dev/null 2>&1 || \
		{ $(APT) update -q >/dev/null 2>&1 && $(APT) install -y -q $$package >/dev/null 2>&1; } || \
		echo "apixo-mock: could not install $$package: the tests that need it will be skipped"; \
	done

# axe-core from npm, for the dashboard's accessibility check (tests/ui/), into .ui-deps/.
AXE := .ui-deps/node_modules/axe-core/axe.min.js

ui-deps: $(AXE)

$(AXE):
	@command -v npm >/dev/null && npm install --prefix .ui-deps --no-audit --no-fund --silent 'axe-core@^4.10' || \
		echo "apixo-mock: could not install axe-core (npm): the accessibility check will be skipped"

# A PNG of each dashboard page in docs/img/, from a served mock with a little made-up traffic.
screenshots: $(STAMP) system-deps
	PYTHONPATH=. $(BIN)/python -m tests.ui.screenshots docs/img

# Runs the contract suite against any target: make contract BASE_URL=... API_KEY=...
contract: $(STAMP)
	APIXO_BASE_URL='$(BASE_URL)' APIXO_API_KEY='$(API_KEY)' APIXO_OTHER_API_KEY='$(OTHER_API_KEY)' \
		$(BIN)/python -m pytest -q contract_tests $(ARGS)

# Benchmarks: wrk from Debian (installed here when missing), the peers from npm (by bench/peers.py).
bench: $(STAMP)
	@command -v wrk >/dev/null || { echo "installing wrk (Debian package)"; \
		apt-get install -y -q wrk >/dev/null || sudo apt-get install -y -q wrk >/dev/null; }
	PYTHONPATH=. $(BIN)/python bench/run.py $(ARGS)

# An sdist and a wheel in dist/ (the wheel built from the sdist, so the sdist is complete);
# no build isolation: the backend comes from .venv, so this works offline.
dist: $(STAMP)
	rm -rf dist
	$(BIN)/python -m build --no-isolation --outdir dist .

clean:
	rm -rf $(VENV) .hypothesis .mypy_cache .ruff_cache dist build

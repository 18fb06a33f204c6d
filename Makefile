# Every target installs what it needs: a fresh machine needs only Python 3 and make.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
ARGS ?=

.PHONY: setup serve test lint contract bench clean

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

test: lint
	$(BIN)/python -m pytest -q $(ARGS)

# Runs the contract suite against any target: make contract BASE_URL=... API_KEY=...
contract: $(STAMP)
	APIXO_BASE_URL='$(BASE_URL)' APIXO_API_KEY='$(API_KEY)' APIXO_OTHER_API_KEY='$(OTHER_API_KEY)' \
		$(BIN)/python -m pytest -q contract_tests $(ARGS)

# Benchmarks need wrk for the server figures (Debian: apt-get install wrk).
bench: $(STAMP)
	PYTHONPATH=. $(BIN)/python bench/run.py $(ARGS)

clean:
	rm -rf $(VENV) .hypothesis .mypy_cache .ruff_cache dist build

# Two commands matter: `make run` and `make test`. Both bootstrap .venv on first use and
# re-install only when pyproject.toml changes (the stamp file tracks that).
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
RUN_STAMP := $(VENV)/.installed-run
BENCH_STAMP := $(VENV)/.installed-bench

.PHONY: run test lint typecheck hadolint deadcode pytest bench bench-quick check-content clean

# `make run` needs only the bot and the playground; the lint/type/test toolchain comes with the first `make test`.
$(RUN_STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "$(PYTHON) not found; set PYTHON=/path/to/python3.11"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[playground]'
	touch $(RUN_STAMP)

$(STAMP): $(RUN_STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

run: $(RUN_STAMP)
	$(BIN)/python -m bot

test: lint typecheck hadolint deadcode pytest

lint: $(STAMP)
	$(BIN)/ruff check bot cogs tests bench vulture_allowlist.py
	$(BIN)/ruff format --check bot cogs tests bench vulture_allowlist.py

typecheck: $(STAMP)
	$(BIN)/mypy

hadolint: $(STAMP)
	$(BIN)/hadolint --failure-threshold warning Dockerfile

# Code nothing calls (vulture); the allow-list names what libraries call by name, and must itself still import.
deadcode: $(STAMP)
	$(BIN)/python vulture_allowlist.py
	$(BIN)/vulture

# Two workers (pyproject's addopts). Bytecode caches make a warm run warm: subprocess tests start Python afresh and
# every bot start loads its cog extensions again, so an environment that turns caching off would compile them each time.
pytest: $(STAMP)
	PYTHONDONTWRITEBYTECODE= $(BIN)/python -m pytest

check-content: $(STAMP)
	$(BIN)/nexus-bot check-content

# The benchmarks also install the profiler (the `bench` extra), with a stamp of their own.
$(BENCH_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)
	$(BIN)/python -m bench

bench-quick: $(BENCH_STAMP)
	$(BIN)/python -m bench --quick

clean:
	rm -rf $(VENV)

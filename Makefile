# Vakt — developer entry points. Every target bootstraps .venv on a fresh machine.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: help venv test lint typecheck contracts pytest fmt demo bench clean screenshots

help:
	@echo "make demo    run Vakt on its embedded defaults (SQLite, simulated sites, SMTP sink, web UI)"
	@echo "make test    lint + type check + import contracts + the whole pytest suite"
	@echo "make lint    ruff, mypy --strict, import-linter"
	@echo "make fmt     format and auto-fix with ruff"

# Re-install only when the project's dependencies change.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $(STAMP)

venv: $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check monitor tests bench
	$(BIN)/ruff format --check monitor tests bench
	$(BIN)/mypy monitor
	$(BIN)/lint-imports

pytest: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test: lint pytest

fmt: $(STAMP)
	$(BIN)/ruff format monitor tests bench
	$(BIN)/ruff check --fix monitor tests bench

# Simulated sites, a mail sink and Vakt itself on 127.0.0.1; a three-minute story, then
# serves until Ctrl-C. `vakt demo --fast` (in the test suite) plays it without pauses.
demo: $(STAMP)
	$(BIN)/vakt demo

# The team UI, an incident page and a status page from headless Chromium (Debian's
# chromium + chromium-driver) against a seeded demo store.
screenshots: $(STAMP)
	$(BIN)/python -m tests.browser.screenshots docs/screenshots

clean:
	rm -rf $(VENV) build dist *.egg-info .mypy_cache .ruff_cache .pytest_cache

# Vakt — developer entry points. Every target bootstraps .venv on a fresh machine.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: help venv lock test lint typecheck contracts pytest fmt demo bench clean screenshots

help:
	@echo "make demo    run Vakt on its embedded defaults (SQLite, simulated sites, SMTP sink, web UI)"
	@echo "make test    lint + type check + import contracts + the whole pytest suite"
	@echo "make lint    ruff, mypy --strict, import-linter"
	@echo "make fmt     format and auto-fix with ruff"
	@echo "make lock    re-resolve the dependency lock (uv.lock, requirements/*.txt) on purpose"

# Installs come from the lock (requirements/*.txt, exported from uv.lock by `make lock`), with
# hashes; the project itself goes in editable without resolving anything. `make demo` installs
# only what Vakt runs; the test and lint tools come on top for `make test`.
RUNTIME := $(VENV)/.runtime
UV_VERSION := 0.13.9

$(RUNTIME): requirements/runtime.txt requirements/build.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --require-hashes --no-deps -r requirements/build.txt
	$(BIN)/python -m pip install -q --require-hashes --no-deps -r requirements/runtime.txt
	$(BIN)/python -m pip install -q --no-deps --no-build-isolation -e .
	touch $(RUNTIME)

$(STAMP): $(RUNTIME) requirements/test.txt
	$(BIN)/python -m pip install -q --require-hashes --no-deps -r requirements/test.txt
	touch $(STAMP)

# Refresh the lock on purpose: re-resolve pyproject.toml's ranges for Python 3.11-3.13 and
# export the three requirement files. Commit uv.lock and requirements/ together.
lock:
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q uv==$(UV_VERSION)
	$(BIN)/uv lock --upgrade
	$(BIN)/uv export -q --frozen --format requirements-txt --no-dev --no-emit-project -o requirements/runtime.txt
	$(BIN)/uv export -q --frozen --format requirements-txt --no-dev --extra test --no-emit-project -o requirements/test.txt
	$(BIN)/uv export -q --frozen --format requirements-txt --only-group build --no-emit-project -o requirements/build.txt

venv: $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check monitor tests bench
	$(BIN)/ruff format --check monitor tests bench
	$(BIN)/mypy monitor
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -q -p no:cacheprovider --no-header tests/project/test_import_cycles.py

# Two worker processes (pytest-xdist): most of the suite waits on loopback daemons, timers
# and browsers, which the workers overlap. `make pytest PYTEST_WORKERS=0` runs it in one.
PYTEST_WORKERS ?= 2
pytest: $(STAMP)
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

test: lint pytest

fmt: $(STAMP)
	$(BIN)/ruff format monitor tests bench
	$(BIN)/ruff check --fix monitor tests bench

# Simulated sites, a mail sink and Vakt itself on 127.0.0.1; a three-minute story, then
# serves until Ctrl-C. `vakt demo --fast` (in the test suite) plays it without pauses.
# Ctrl-C stops the demo (it takes the terminal's foreground, so make is not interrupted);
# its exit code 130 ("interrupted before the summary") is a normal way to stop it.
demo: $(RUNTIME)
	@$(BIN)/vakt demo || [ $$? -eq 130 ]

# The team UI, an incident page and a status page from headless Chromium (Debian's
# chromium + chromium-driver) against a seeded demo store.
screenshots: $(STAMP)
	$(BIN)/python -m tests.browser.screenshots docs/screenshots

clean:
	rm -rf $(VENV) build dist *.egg-info .mypy_cache .ruff_cache .pytest_cache

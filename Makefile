# The two README commands: `make demo` (run the system, OFFLINE) and `make test` (set up and test).
# Both create .venv and install what they need, Debian packages included.
SHELL := /bin/bash
# The venv's interpreter: the distribution's CPython 3.11 when there is one (Debian builds it with
# PGO + LTO and links libpython in: ~20% less time on the tick-to-order path than a plain source
# build such as pyenv's, bench/tick_to_order.py), else python3 on the PATH. `make PYTHON=... test`
PYTHON ?= $(if $(wildcard /usr/bin/python3.11),/usr/bin/python3.11,python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Compiled by `pip install -e .` (setup.py): a changed source rebuilds the venv stamp, so a stale
# build never shadows it (tests/core/test_book_kernel.py fails on one that is older).
KERNEL_SRC := setup.py src/polymarket_bot/core/_book_kernel.pyx
SYSTEM_STAMP := .system-deps.installed

.PHONY: demo test check lint format system-deps venv bench clean

$(STAMP): requirements/base.txt requirements/dev.txt pyproject.toml $(KERNEL_SRC)
	bash scripts/install_system_deps.sh --python $(PYTHON)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements/dev.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

venv: $(STAMP)

system-deps:
	bash scripts/install_system_deps.sh

demo: $(STAMP)
	$(BIN)/polymarket-launch demo

test: $(STAMP) system-deps
	$(MAKE) check
	$(BIN)/python -m pytest -q

check: $(STAMP)
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/ruff format --check src tests bench scripts
	$(BIN)/mypy
	$(BIN)/lint-imports

format: $(STAMP)
	$(BIN)/ruff format src tests bench scripts
	$(BIN)/ruff check --fix src tests bench scripts

bench: $(STAMP)
	for b in bench/*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info .mypy_cache .pytest_cache .ruff_cache
	rm -f src/polymarket_bot/core/_book_kernel.c src/polymarket_bot/core/_book_kernel.*.so

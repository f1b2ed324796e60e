# The two commands a newcomer runs: `make demo` and `make test` (see README.md).
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV     := .venv
SALESOPS := $(VENV)/bin/salesops
PORT     ?= 8000
export PORT

.PHONY: help venv messages migrate seed demo test lint bench clean

help:
	@echo "make demo    install, migrate, seed a demo organisation and serve it on http://127.0.0.1:$(PORT)"
	@echo "             (PORT=8001 to change the port, RESET=1 to wipe and re-seed the demo data)"
	@echo "make test    the whole suite on SQLite, and on PostgreSQL when TEST_POSTGRES_URL or DATABASE_URL is set"
	@echo "make lint    ruff, ruff format --check, mypy, import-linter"
	@echo "make bench   performance figures"

# Creates .venv with Python >= 3.12 and installs '.[dev]' when pyproject.toml changed.
venv:
	@scripts/ensure-venv

# .mo files are built, not committed (compilemessages refuses to run with no catalogue).
# ensure-static installs the pinned npm libraries (ECharts) into the static files.
messages: venv
	@scripts/ensure-static
	@if find salesops -name '*.po' -path '*/locale/*' | grep -q .; then \
		$(SALESOPS) compilemessages --ignore=.venv --ignore=node_modules --verbosity 0; \
	fi

# var/ holds the SQLite database (gitignored, so absent from a fresh clone).
migrate: messages
	@mkdir -p var
	$(SALESOPS) migrate --no-input

seed: migrate
	$(SALESOPS) seed --scale demo $(if $(filter 1 true yes,$(RESET)),--reset)

demo: seed
	$(SALESOPS) demo --port $(PORT)

test: messages
	@scripts/run-tests

lint: venv
	@status=0; \
	for cmd in "ruff check ." "ruff format --check ." "mypy salesops" "lint-imports"; do \
		echo "==> $$cmd"; \
		$(VENV)/bin/$$cmd || status=1; \
	done; \
	exit $$status

# Seeds var/bench-$(SCALE).sqlite3 and a PostgreSQL database once, then runs every benchmark
# beside its same-run baseline (see scripts/bench for SCALE, BENCH_POSTGRES_URL and ONLY).
bench: messages
	@scripts/bench

# Every target sets up its own virtualenv, so a fresh clone needs nothing but python3 and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo serve test lint typecheck contracts pytest test-postgres bench mutation clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m kanorio_refunds demo

# The reference backend (examples/backend): Kanorio's refund pages on SQLite and the Stripe
# simulator over loopback, through the real StripeGateway; the database starts over each time
# (the simulator keeps its state in memory only). Ctrl-C stops it.
PORT ?= 8000
serve: $(STAMP)
	$(BIN)/python examples/backend/serve.py --port $(PORT) --database var/shop.sqlite --reset

test: lint typecheck contracts pytest

lint: $(STAMP)
	$(BIN)/ruff check src tests examples benchmarks
	$(BIN)/ruff format --check src tests examples benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy --strict src
	$(BIN)/mypy --strict examples/backend

contracts: $(STAMP)
	$(BIN)/lint-imports

pytest: $(STAMP)
	$(BIN)/pytest

# The SQL adapter's tests on a throwaway PostgreSQL (127.0.0.1), installed from Debian's
# packages when missing; CI runs the whole suite this way (.ci/run).
test-postgres: $(STAMP)
	bash .ci/run with-postgres $(BIN)/pytest tests/sql

bench: $(STAMP)
	$(BIN)/pytest benchmarks --benchmark-only -p no:randomly

# Mutation testing of the pure domain (docs/dev/mutation.md); not in CI: it takes tens of
# minutes. mutmut is installed here only; results stay in mutants/ (git-ignored). The score
# (excluding the mutants the doc lists) must be at least 95 %.
mutation: $(STAMP)
	$(BIN)/python -m pip install --quiet 'mutmut>=3.8,<4'
	rm -rf mutants
	$(BIN)/mutmut run --max-children $${MUTATION_CHILDREN:-2}
	$(BIN)/python tests/domain/mutation_score.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis mutants

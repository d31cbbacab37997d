# The two commands users need: `make run` and `make test`. Everything else is for developers.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test lint format typecheck docs bench clean soak

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' \
		|| { echo "Python 3.11 or newer is required (set PYTHON=python3.11)"; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

run: install  ## migrate and start on http://$${HOST:-127.0.0.1}:$${PORT:-8000}
	$(BIN)/cbp migrate
	$(BIN)/cbp serve

# Two pytest processes, a test file each at a time: the suite waits on subprocesses, servers and the
# browser as much as it computes (13.6 min in one process, 8 min in two on a 2-core machine).
TEST_WORKERS ?= 2

test: install  ## the whole suite
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check src tests migrations bench
	$(BIN)/ruff format --check src tests migrations bench
	$(BIN)/mypy

format: install
	$(BIN)/ruff check --fix src tests migrations bench
	$(BIN)/ruff format src tests migrations bench

typecheck: install
	$(BIN)/mypy

docs: install  ## regenerate docs/configuration.md, docs/cli.md and .env.example from the code
	$(BIN)/python -m chatbot_platform.reference

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache

soak: install  ## 30 minutes of mixed load (bench/load.py); writes the load section of docs/reliability.md
	$(BIN)/python bench/load.py --seconds $${SOAK_SECONDS:-1800} --rate $${SOAK_RATE:-6}

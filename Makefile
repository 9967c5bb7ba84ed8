# The two commands of the README:
#   make demo   set up, migrate, seed demo data and serve http://127.0.0.1:5000 (SQLite)
#   make test   set up and run the whole test suite (SQLite; PostgreSQL with DATABASE_URL)
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi
PASSWORD ?=
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: setup demo serve test lint translations bench check-migrations clean

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: $(BIN)/activate pyproject.toml
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

translations: $(VENV)/.installed
	$(BIN)/pybabel compile --use-fuzzy -d portal/translations --statistics 2>&1 | tail -n 3

setup: $(VENV)/.installed translations

demo: setup
	PORTAL_ENV=development $(FLASK) db upgrade
	PORTAL_ENV=development $(FLASK) demo $(if $(PASSWORD),--password '$(PASSWORD)') --accounts instance/demo-accounts.json
	$(MAKE) --no-print-directory serve

# The web server and, beside it, the task-queue worker that runs imports and matching.
serve: setup
	PORTAL_ENV=development $(BIN)/huey_consumer portal.jobs.queue.huey --workers 2 --worker-type thread --quiet & \
	trap 'kill $$! 2>/dev/null' EXIT INT TERM; \
	PORTAL_ENV=development $(FLASK) run --host $(HOST) --port $(PORT)

test: setup
	$(BIN)/pytest

lint: setup
	$(BIN)/ruff check portal tests bench
	$(BIN)/mypy

# Regenerate the message catalogue after changing texts: make extract, then translate.
extract: $(VENV)/.installed
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -o portal/translations/messages.pot .
	$(BIN)/pybabel update -i portal/translations/messages.pot -d portal/translations --no-fuzzy-matching

bench: setup
	$(BIN)/python -m bench.run

clean:
	rm -rf $(VENV) instance .pytest_cache

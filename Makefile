# The two commands of the README:
#   make demo   set up, migrate, seed demo data and serve http://127.0.0.1:5000 (SQLite)
#   make test   set up and run the whole test suite (SQLite; PostgreSQL with DATABASE_URL),
#               on every core (TEST_WORKERS=2 sets how many processes, 0 one)
# Both install exactly what requirements.lock says (every package pinned, with hashes).
#   make lock         refresh the lock after changing pyproject.toml (keeps the other pins)
#   make lock UPGRADE=1   move every pin to the newest version pyproject.toml allows
#   make try-newest   run the suite on the newest allowed versions, in a throwaway venv
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi
PASSWORD ?=
HOST ?= 127.0.0.1
PORT ?= 5000
# The demo services' port (loopback) and the demo PKI they serve (SIGNING_DEMO_PKI_DIR).
DEMO_SERVICES_PORT ?= 9780
DEMO_PKI_DIR ?= instance/demo-pki

.PHONY: setup demo serve test lint translations bench check-migrations clean lock try-newest

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)

# The lock is the install: pinned versions checked against their hashes, nothing resolved
# here; then the portal itself, built with the locked setuptools. `pip check` fails when
# pyproject.toml asks for something the lock lacks (run `make lock`).
$(VENV)/.installed: $(BIN)/activate requirements.lock pyproject.toml
	$(BIN)/pip install --quiet --require-hashes --no-deps -r requirements.lock
	$(BIN)/pip install --quiet --no-deps --no-build-isolation -e .
	@out=$$($(BIN)/pip check) || { echo "$$out"; exit 1; }
	touch $@

# Not after `.installed`: right after a dependency is added to pyproject.toml, `pip check`
# fails there until the lock has it. The locked packages (uv among them) are enough.
lock: $(BIN)/activate
	$(BIN)/pip install --quiet --require-hashes --no-deps -r requirements.lock
	$(BIN)/uv pip compile pyproject.toml --extra dev --universal --python-version 3.11 \
		--generate-hashes --custom-compile-command "make lock" --quiet \
		$(if $(UPGRADE),--upgrade) -o requirements.lock
	@echo "requirements.lock written; 'make test' installs from it."

# The newest versions pyproject.toml allows, in a venv of their own, and the whole suite
# on them: refreshing the lock is then a decision taken with this result in front of you.
try-newest:
	PYTHON=$(PYTHON) bash .ci/try-newest

# Compiled when a catalogue changed, not on every run: two `make test` at once (.ci/run)
# must not rewrite a .mo file while the other's tests read it.
CATALOGUES := $(wildcard portal/translations/*/LC_MESSAGES/messages.po)
translations: $(CATALOGUES:.po=.mo)

portal/translations/%/LC_MESSAGES/messages.mo: portal/translations/%/LC_MESSAGES/messages.po $(VENV)/.installed
	$(BIN)/pybabel compile --use-fuzzy -d portal/translations -l $* --statistics 2>&1 | tail -n 3

setup: $(VENV)/.installed translations

demo: export SIGNING_DEMO_SERVICES_URL = http://127.0.0.1:$(DEMO_SERVICES_PORT)
demo: setup
	PORTAL_ENV=development $(FLASK) db upgrade
	PORTAL_ENV=development $(FLASK) demo $(if $(PASSWORD),--password '$(PASSWORD)') --accounts instance/demo-accounts.json
	$(MAKE) --no-print-directory serve

# The web server (gunicorn, one process with threads: SQLite takes one writer at a time)
# and, beside it, the task-queue worker that runs imports, matching and batch signing.
# And the demo services (portal/signing/demo_services.py, loopback only): the demo PKI's
# OCSP responder, CRLs and TSA, and the demo CSC provider, which the demo certificates name.
serve: export SIGNING_DEMO_SERVICES_URL = http://127.0.0.1:$(DEMO_SERVICES_PORT)
serve: export SIGNING_REVOCATION_FETCH = 1
serve: setup
	PORTAL_ENV=development $(BIN)/huey_consumer portal.jobs.queue.huey --workers 2 --worker-type thread --quiet & \
	worker=$$!; \
	$(BIN)/python -m portal.signing.demo_services --folder $(DEMO_PKI_DIR) --port $(DEMO_SERVICES_PORT) & \
	services=$$!; \
	trap 'kill $$worker $$services 2>/dev/null' EXIT INT TERM; \
	echo "http://$(HOST):$(PORT)"; \
	PORTAL_ENV=development $(BIN)/gunicorn --workers 1 --threads 4 --bind $(HOST):$(PORT) wsgi:app

# The suite spread over the machine's cores by pytest-xdist, a test file's tests together on
# one worker (they share module fixtures: a seeded server, the security sweep's world);
# each worker has its own database (tests/conftest.py). TEST_WORKERS=0: one process.
TEST_WORKERS ?= auto
test: setup
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadfile

lint: setup
	$(BIN)/ruff check portal tests bench
	$(BIN)/ruff format --check portal tests bench migrations wsgi.py
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache

# Regenerate the message catalogue after changing texts: make extract, then translate.
extract: $(VENV)/.installed
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -o portal/translations/messages.pot .
	$(BIN)/pybabel update -i portal/translations/messages.pot -d portal/translations --no-fuzzy-matching

bench: setup
	$(BIN)/python -m bench.run

clean:
	rm -rf $(VENV) instance .pytest_cache

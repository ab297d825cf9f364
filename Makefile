# The two commands a new user needs: `make run` and `make test`. Only Python 3.11+ required.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 8000
# MariaDB/MySQL for `make test-mysql` (and CI): root with an empty password on 127.0.0.1.
# Set in the environment, not read from .env: a .env may point at another server.
MYSQL_ENV := DB_ENGINE=mysql DB_NAME=$${DB_NAME:-movie_booking} DB_USER=$${DB_USER:-root} \
	DB_PASSWORD=$${DB_PASSWORD:-} DB_HOST=$${DB_HOST:-127.0.0.1} DB_PORT=$${DB_PORT:-3306}

# PostgreSQL for `make test-postgres` (and CI): the postgres user on 127.0.0.1 (trust auth).
POSTGRES_ENV := DB_ENGINE=postgresql DB_NAME=$${DB_NAME:-movie_booking} \
	DB_USER=$${DB_USER:-postgres} DB_PASSWORD=$${DB_PASSWORD:-} DB_HOST=$${DB_HOST:-127.0.0.1} \
	DB_PORT=$${DB_PORT:-5432}

# A 3-node MariaDB Galera cluster on loopback for `make test-galera` (scripts/galera.sh):
# SQL on 127.0.0.1:3401-3403, root with no password, its own datadirs under .galera/.
GALERA_NODES := 127.0.0.1:3401,127.0.0.1:3402,127.0.0.1:3403
GALERA_ENV := DB_ENGINE=mysql DB_NAME=movie_booking DB_USER=root DB_PASSWORD= \
	DB_HOST=127.0.0.1 DB_PORT=3401 GALERA_NODES=$(GALERA_NODES)
# What `make test-galera` runs (default: the whole suite), e.g. GALERA_TESTS="booking/tests/test_galera.py".
GALERA_TESTS ?=

.PHONY: run test test-mysql test-postgres test-galera galera-pytest galera-up galera-down galera-status install install-mysql install-postgres lint format check serve bench purge-keys clean

run: install .env  ## venv, install, migrate, sample data, dev server on http://127.0.0.1:8000
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python load_sample_data.py
	$(BIN)/python manage.py runserver 127.0.0.1:$(PORT)

# `make test` is SQLite whatever .env says: the environment wins over .env.
SQLITE_ENV := DB_ENGINE=sqlite3 DB_NAME= DB_TEST_NAME=

test: install  ## the whole suite on SQLite (concurrency tests skip: they need MariaDB)
	$(SQLITE_ENV) $(BIN)/pytest

test-mysql: install-mysql  ## the whole suite on MariaDB/MySQL, concurrency tests included
	$(MYSQL_ENV) REQUIRE_MYSQL=1 $(BIN)/pytest

test-postgres: install-postgres  ## the whole suite on PostgreSQL, concurrency tests included
	$(POSTGRES_ENV) $(BIN)/pytest

# The test connection is on node 1; the concurrency tests' threads on all three nodes.
test-galera: install-mysql  ## the suite on a 3-node Galera cluster: brought up, then down (even on failure)
	trap 'bash scripts/galera.sh down' EXIT; \
	bash scripts/galera.sh up && $(MAKE) --no-print-directory galera-pytest

galera-pytest: install-mysql  ## the suite (or GALERA_TESTS) on the running cluster (make galera-up)
	$(GALERA_ENV) REQUIRE_MYSQL=1 $(BIN)/pytest $(GALERA_TESTS)

galera-up:  ## start the 3-node Galera cluster (ports 3401-3403); no-op if it runs
	bash scripts/galera.sh up

galera-down:  ## stop it (its data stays in .galera/; `scripts/galera.sh purge` deletes it)
	bash scripts/galera.sh down

galera-status:
	bash scripts/galera.sh status

install: $(VENV)/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

install-mysql: install $(VENV)/.installed-mysql

$(VENV)/.installed-mysql: requirements-mysql.txt
	$(BIN)/python -m pip install --quiet -r requirements-mysql.txt
	touch $@

install-postgres: install $(VENV)/.installed-postgres

$(VENV)/.installed-postgres: requirements-postgres.txt
	$(BIN)/python -m pip install --quiet -r requirements-postgres.txt
	touch $@

.env:  ## a local .env from .env.example, with a fresh random SECRET_KEY
	sed "s|^SECRET_KEY=.*|SECRET_KEY=$$($(PYTHON) -c 'import secrets; print(secrets.token_urlsafe(50))')|" .env.example > .env

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

check: install .env  ## migrations in sync, OpenAPI schema valid
	$(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/python manage.py spectacular --validate --fail-on-warn --file /dev/null

.PHONY: check-client
check-client: install  ## TypeScript types from the schema compile against a typed client (npm)
	bash scripts/typescript_client_check.sh

# The production stack on this machine: DEBUG=False, static files via WhiteNoise, gunicorn.
# Plain HTTP on localhost, so the HTTPS redirect and HSTS are off here (not in production).
LOCAL_PROD_ENV := DEBUG=False SECURE_SSL_REDIRECT=False SECURE_HSTS_SECONDS=0 SESSION_COOKIE_SECURE=False

serve: install .env  ## production stack locally: collectstatic, migrate, gunicorn on :8000
	$(LOCAL_PROD_ENV) $(BIN)/python manage.py collectstatic --noinput -v0
	$(LOCAL_PROD_ENV) $(BIN)/python manage.py migrate --noinput
	$(LOCAL_PROD_ENV) GUNICORN_BIND=$${GUNICORN_BIND:-127.0.0.1:$(PORT)} $(BIN)/gunicorn movie_booking.wsgi:application

# gunicorn alone (`make serve`) must not face clients: a few slow ones hold every worker.
# In production nginx reads each request whole first (deploy/nginx/, README "Running in
# production"); this runs that pair here. Needs Debian's nginx (apt-get install nginx).
UPSTREAM_PORT ?= 8001
.PHONY: serve-prod
serve-prod: install .env  ## nginx on :8000 in front of gunicorn on :8001, as in production; Ctrl-C stops both
	$(LOCAL_PROD_ENV) $(BIN)/python manage.py collectstatic --noinput -v0
	$(LOCAL_PROD_ENV) $(BIN)/python manage.py migrate --noinput
	$(LOCAL_PROD_ENV) $(BIN)/python scripts/serve_prod.py --port $(PORT) --upstream-port $(UPSTREAM_PORT)

# 8 rounds of 3 s segments: single rounds swing by a third on a busy 2-CPU machine, the
# median of 8 is much steadier; with 10 s scenarios about 7 minutes in all.
# BENCH_ARGS adds or overrides flags: make bench BENCH_ARGS="--only ratios".
BENCH_ARGS ?=
bench: install-mysql  ## CPU per request vs bare-Django floors, then booking under load (scripts/bench.py)
	$(BIN)/python scripts/bench.py --workers $${WORKERS:-4} --rounds 8 --segment-seconds 3 --duration 10 \
		$(BENCH_ARGS)

purge-keys: install  ## delete Idempotency-Keys older than 24 hours
	$(BIN)/python manage.py purge_idempotency_keys

clean:
	rm -rf $(VENV) staticfiles .pytest_cache .ruff_cache

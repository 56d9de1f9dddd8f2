# lntsite: `make run` starts a working site on a fresh clone; `make test` runs every test.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1:8000

.PHONY: run install demo test lint check clean prod prod-stop prod-status

$(VENV)/.installed: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

install: $(VENV)/.installed

demo: install
	$(PY) manage.py migrate --no-input
	$(PY) manage.py load_demo --if-empty

run: demo
	@echo "lntsite on http://$(HOST)/  (log in for triage: $(PY) manage.py createsuperuser)"
	$(PY) manage.py runserver $(HOST)

# Every test, on the database DATABASE_URL names (SQLite when unset).
test: install
	$(PY) -m pytest -p no:cacheprovider

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	$(PY) manage.py makemigrations --check --dry-run
	DEBUG=0 SECRET_KEY=lint-only-$$(date +%s)-not-a-real-key-but-long-and-varied-AbC123 \
		PERF_VAR_DIR=var/lint $(PY) manage.py check --deploy --fail-level WARNING

# The production stack (nginx, two gunicorn pools, Celery worker and beat) on the local
# PostgreSQL and Redis; every setting from the environment (deploy/prod.sh, README).
prod: install
	PY=$(abspath $(PY)) deploy/prod.sh start

prod-stop:
	PY=$(abspath $(PY)) deploy/prod.sh stop

prod-status:
	PY=$(abspath $(PY)) deploy/prod.sh status

clean:
	rm -rf var staticfiles test-artifacts

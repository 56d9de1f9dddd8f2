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

# The embedded default: runserver plus a Celery worker (with the sweep, --beat) on
# kombu's filesystem broker in var/broker/, so detection never runs inside a submission
# request.  Ctrl-C stops both (the worker gets the same SIGINT, then the trap's TERM).
# Both write their /metrics samples to var/metrics (prometheus_client multiprocess mode).
EMBEDDED := CELERY_BROKER_URL=filesystem:// CELERY_TASK_ALWAYS_EAGER=0 \
	PROMETHEUS_MULTIPROC_DIR=$(CURDIR)/var/metrics
run: demo
	@echo "lntsite on http://$(HOST)/  (log in for triage: $(PY) manage.py createsuperuser)"
	@rm -rf var/metrics && mkdir -p var/metrics
	@$(EMBEDDED) $(PY) -m celery -A lntsite worker --beat --schedule var/beat-schedule \
	    --pool=solo --without-gossip --without-mingle --without-heartbeat -l WARNING & \
	  worker=$$!; trap 'kill $$worker 2>/dev/null; wait $$worker' EXIT INT TERM; \
	  $(EMBEDDED) $(PY) manage.py runserver $(HOST)

# Every test, on the database DATABASE_URL names (SQLite when unset).  TESTS narrows it
# (pytest's own arguments: paths, --ignore=...); .ci/run splits the PostgreSQL pass in two.
TESTS ?=
test: install
	$(PY) -m pytest -p no:cacheprovider $(TESTS)

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

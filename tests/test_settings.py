"""Settings fail loudly on bad or missing production values, naming the variable."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def load_settings(code: str = "import lntsite.settings", **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "SECRET_KEY"}}
    return subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**clean, "PERF_VAR_DIR": str(ROOT / "var" / "test"), **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_defaults_need_no_environment():
    assert load_settings().returncode == 0


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"DEBUG": "0"}, "SECRET_KEY must be set"),
        ({"DEBUG": "maybe"}, "DEBUG must be a boolean"),
        ({"PERF_SLOW_REQUEST_MS": "fast"}, "PERF_SLOW_REQUEST_MS must be an integer"),
        ({"PERF_MAX_SUBMISSION_BYTES": "0"}, "PERF_MAX_SUBMISSION_BYTES must be >= 1"),
        ({"DATABASE_URL": "nosuch://x"}, "DATABASE_URL"),
        ({"LOG_LEVEL": "LOUD"}, "LOG_LEVEL"),
        ({"DATABASE_REPLICA_URL": "postgres://h/db"}, "needs DATABASE_URL on PostgreSQL"),
        (
            {"DATABASE_URL": "postgres://h/db", "DATABASE_REPLICA_URL": "sqlite:///x"},
            "DATABASE_REPLICA_URL must be a postgres:// URL",
        ),
        (
            {"DATABASE_URL": "postgres://h/db", "DATABASE_CLIENT_TIMEOUT": "10"},
            "DATABASE_CLIENT_TIMEOUT (10 s) must be above DATABASE_STATEMENT_TIMEOUT_MS",
        ),
        (
            {"DATABASE_URL": "postgres://h/db", "DATABASE_BACKEND_NICE": "20"},
            "DATABASE_BACKEND_NICE must be 0-19",
        ),
    ],
)
def test_a_bad_value_stops_start_up_naming_the_variable(env, named):
    result = load_settings(**env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert named in result.stderr


def test_a_replica_url_installs_the_router_and_its_middleware():
    result = load_settings(
        "from lntsite import settings as s; print(s.DATABASE_ROUTERS, "
        "s.DATABASES['replica']['PORT'], s.DATABASES['replica']['OPTIONS']['connect_timeout'],"
        " s.MIDDLEWARE.index('lntsite.replica.ReplicaMiddleware')"
        " < s.MIDDLEWARE.index('perf.middleware.ServiceErrorMiddleware'))",
        DATABASE_URL="postgres://u@127.0.0.1:5432/db",
        DATABASE_REPLICA_URL="postgres://u@127.0.0.1:5433/db",
    )
    assert result.stdout.split() == ["['lntsite.replica.ReplicaRouter']", "5433", "1", "True"]


def test_production_settings_pass_the_deploy_check():
    result = subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "lntsite.settings",
            "DEBUG": "0",
            "SECRET_KEY": "x" * 60 + "-not-a-real-key-but-long-and-random-enough-AbC123",
            "PERF_VAR_DIR": str(ROOT / "var" / "test"),
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_client_timeout_is_two_seconds_above_the_statement_timeout_by_default():
    code = "from lntsite import settings as s; print(s.DATABASE_CLIENT_TIMEOUT)"
    assert load_settings(code, DATABASE_URL="postgres://h/db").stdout.split() == ["12"]
    result = load_settings(
        code, DATABASE_URL="postgres://h/db", DATABASE_STATEMENT_TIMEOUT_MS="4500"
    )
    assert result.stdout.split() == ["7"]
    assert load_settings(code).stdout.split() == ["0"]  # SQLite: nothing to bound

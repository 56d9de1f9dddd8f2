"""bench/load.py's helpers that need no running stack: the token goes to the stack's
database, and the PostgreSQL server whose CPU it counts is found."""

from __future__ import annotations

import random
import re
import sys
import uuid
from pathlib import Path

import pytest
from django.db import connection

from perf.models import SubmissionToken

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))

import load  # noqa: E402 - bench/ is not a package

postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the stack runs on PostgreSQL"
)


def test_without_database_url_it_uses_the_database_prod_sh_starts_the_stack_on(monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    prod = (ROOT / "deploy" / "prod.sh").read_text()
    default = re.search(r'DATABASE_URL="\$\{DATABASE_URL:-([^}]+)\}"', prod)
    assert default is not None
    assert load.stack_database_url() == default.group(1) == load.DEFAULT_DATABASE_URL
    monkeypatch.setenv("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/other")
    assert load.stack_database_url() == "postgres://postgres@127.0.0.1:5432/other"


def database_url() -> str:
    db = connection.settings_dict
    return f"postgres://{db['USER']}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"


@postgresql_only
@pytest.mark.django_db(transaction=True)  # manage.py commits the token in its own process
def test_the_token_is_made_in_the_database_given_even_without_database_url(monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    nonce = uuid.uuid4().hex[:8]
    secret = load.make_token(nonce, database_url())
    token = SubmissionToken.objects.get(name=f"load-bench-{nonce}")
    assert secret.startswith(token.prefix)


@postgresql_only
@pytest.mark.django_db
def test_the_postmaster_found_is_the_parent_of_this_connections_server_process():
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    stat = Path(f"/proc/{backend}/stat").read_text().rsplit(")", 1)[1].split()
    postmaster = load.postmaster_pid(database_url())
    assert postmaster == int(stat[1])
    assert Path(f"/proc/{postmaster}/comm").read_text().strip() == "postgres"
    # Its CPU, reaped backends included, is what load.py counts for "postgres".
    assert load.tree_cpu_seconds([postmaster]) > 0


@postgresql_only
@pytest.mark.django_db
def test_a_connection_counts_as_held_while_its_client_end_is_open():
    import psycopg2

    db = connection.settings_dict
    port = int(db["PORT"] or 5432)
    conn = psycopg2.connect(host=db["HOST"], port=port, user=db["USER"], dbname=db["NAME"])
    with conn.cursor() as cursor:
        cursor.execute("SELECT client_port FROM pg_stat_activity WHERE pid = pg_backend_pid()")
        local_port = cursor.fetchone()[0]
    assert local_port in load.live_client_ports(port)
    conn.close()
    assert local_port not in load.live_client_ports(port)


def test_a_closed_loop_client_does_not_wait_between_requests():
    assert load.think_seconds(random.Random(1), 0.0, now=5.0, deadline=60.0) == 0.0


def test_think_times_average_their_mean_and_never_pass_the_deadline():
    rng = random.Random(7)
    waits = [load.think_seconds(rng, 2.0, now=0.0, deadline=1e9) for _ in range(20_000)]
    assert 1.9 < sum(waits) / len(waits) < 2.1
    assert min(waits) >= 0.0
    near_the_end = [load.think_seconds(rng, 2.0, now=59.5, deadline=60.0) for _ in range(200)]
    assert max(near_the_end) <= 0.5
    assert load.think_seconds(rng, 2.0, now=61.0, deadline=60.0) == 0.0


def test_negative_think_times_are_refused():
    with pytest.raises(SystemExit):
        load.parse_args(["--read-think", "-1"])

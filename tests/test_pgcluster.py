"""The private PostgreSQL cluster that fault tests stop, freeze and replicate
(tests/pgcluster.py): each step is checked with a real connection."""

from __future__ import annotations

import glob
import os
import shutil
import time

import psycopg2
import pytest

from tests.pgcluster import Cluster, alive, free_port_in, scratch_dir

pytestmark = pytest.mark.skipif(
    not glob.glob("/usr/lib/postgresql/*/bin/initdb")
    or (os.geteuid() == 0 and not shutil.which("runuser")),
    reason="needs PostgreSQL's server binaries (and runuser when root)",
)

# Ports of this test's own (PERF_TEST_PG_PORTS="first-last" to move them).
FIRST, LAST = (int(p) for p in os.environ.get("PERF_TEST_PG_PORTS", "15432-15439").split("-"))
PORTS = range(FIRST, LAST + 1)


def query(url: str, sql: str, *, timeout: int = 3) -> list[tuple]:
    conn = psycopg2.connect(url, connect_timeout=timeout)
    try:
        conn.autocommit = True
        with conn.cursor() as cursor:
            cursor.execute(sql)
            return cursor.fetchall() if cursor.description else []
    finally:
        conn.close()


@pytest.fixture
def cluster():
    with Cluster.create(scratch_dir(), free_port_in(PORTS)) as pg:
        yield pg


def test_a_new_cluster_answers_on_its_port_and_makes_databases(cluster):
    url = cluster.create_database("lntsite_x")
    assert url == f"postgres://postgres@127.0.0.1:{cluster.port}/lntsite_x"
    assert query(url, "SELECT current_database(), current_setting('fsync')") == [
        ("lntsite_x", "off")
    ]


def test_a_stopped_cluster_refuses_connections_and_keeps_its_data_across_a_restart(cluster):
    url = cluster.create_database("kept")
    query(url, "CREATE TABLE t (x int); INSERT INTO t VALUES (7)")
    cluster.stop()
    assert cluster.pid() is None
    with pytest.raises(psycopg2.OperationalError):
        query(url, "SELECT 1")
    cluster.start()
    assert query(url, "SELECT x FROM t") == [(7,)]
    cluster.restart()
    assert query(url, "SELECT x FROM t") == [(7,)]


def test_a_frozen_cluster_accepts_no_answer_until_it_is_thawed(cluster):
    url = cluster.url("postgres")
    cluster.freeze()
    started = time.monotonic()
    with pytest.raises(psycopg2.OperationalError, match="timeout"):
        query(url, "SELECT 1", timeout=2)
    assert time.monotonic() - started < 10  # the connect timeout, not a hang
    cluster.thaw()
    assert query(url, "SELECT 1") == [(1,)]


def test_a_frozen_cluster_can_still_be_stopped(cluster):
    cluster.freeze()
    cluster.stop()
    assert cluster.pid() is None


def test_a_replica_streams_what_the_primary_writes(cluster):
    url = cluster.create_database("app")
    replica = cluster.make_replica(scratch_dir(), free_port_in(PORTS))
    query(url, "CREATE TABLE t (x int); INSERT INTO t VALUES (1), (2)")
    replica.wait_caught_up(timeout=30)
    assert query(replica.url("app"), "SELECT sum(x) FROM t") == [(3,)]
    assert query(replica.url("app"), "SELECT pg_is_in_recovery()") == [(True,)]


def test_destroy_removes_the_cluster_and_its_replicas():
    pg = Cluster.create(scratch_dir(), free_port_in(PORTS))
    replica = pg.make_replica(scratch_dir(), free_port_in(PORTS))
    pids = [pg.pid(), replica.pid()]
    pg.destroy()
    assert not pg.base_dir.exists() and not replica.base_dir.exists()
    assert not any(alive(pid) for pid in pids)


def test_a_taken_port_is_refused(cluster):
    base = scratch_dir()
    with pytest.raises(RuntimeError, match="taken"):
        Cluster.create(base, cluster.port)
    base.rmdir()  # untouched

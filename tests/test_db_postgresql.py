"""lntsite/db/postgresql.py: every round trip of a request is bounded on the client
side, and the write side's server processes can be reniced (PostgreSQL).

The connections here are psycopg2's own, made with the site's connection parameters
(``BoundedConnection``/``BoundedCursor`` included), so a cut connection never breaks
the test's transaction.  ``pg_sleep`` stands for a server that does not answer; the
frozen server itself is tests/deploy/test_database_faults.py.
"""

import os
import time
from pathlib import Path

import psycopg2
import pytest
from django.db import connection

from lntsite.db import postgresql

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs PostgreSQL: run with DATABASE_URL=postgres://... (the CI's second pass)",
    ),
]


@pytest.fixture
def bounded():
    """Round trips bounded at 1 s for the test, unbounded again after it."""
    postgresql.bound_waits(1)
    try:
        yield
    finally:
        postgresql.bound_waits(0)


def connect():
    return psycopg2.connect(**connection.get_connection_params())


def test_a_round_trip_longer_than_the_bound_is_cut_with_an_operational_error(bounded):
    conn = connect()
    cut = postgresql.connections_cut()
    with pytest.raises(psycopg2.OperationalError, match="server closed the connection"):
        conn.cursor().execute("SELECT pg_sleep(5)")
    assert conn.closed  # psycopg2 knows it is gone; Django drops such a connection
    assert postgresql.connections_cut() == cut + 1


def test_a_round_trip_within_the_bound_is_left_alone_and_not_cut_later(bounded):
    conn = connect()
    cut = postgresql.connections_cut()
    with conn.cursor() as cursor:
        cursor.execute("SELECT pg_sleep(0.3)")
        time.sleep(1.2)  # past the deadline the round trip had: it was disarmed
        cursor.execute("SELECT 1")
        assert cursor.fetchone() == (1,)
    conn.commit()
    assert postgresql.connections_cut() == cut
    conn.close()


def test_allow_lengthens_the_bound_for_the_round_trips_inside(bounded):
    conn = connect()
    with postgresql.allow(2), conn.cursor() as cursor:
        cursor.execute("SELECT pg_sleep(1.5)")
    with pytest.raises(psycopg2.OperationalError):  # and only inside
        conn.cursor().execute("SELECT pg_sleep(1.5)")


def test_a_named_cursors_fetches_are_bounded(bounded):
    conn = connect()
    with conn.cursor(name="slow") as cursor:
        cursor.execute(
            "SELECT pg_sleep(CASE WHEN n = 2 THEN 5 ELSE 0 END) FROM generate_series(1, 2) n"
        )
        cursor.fetchmany(1)  # the first row comes at once, the second after 5 s
        with pytest.raises(psycopg2.OperationalError):
            cursor.fetchmany(1)


def test_nothing_is_bounded_until_bound_waits_is_called():
    conn = connect()
    cut = postgresql.connections_cut()
    with conn.cursor() as cursor:
        cursor.execute("SELECT pg_sleep(1.2)")
    assert postgresql.connections_cut() == cut
    conn.close()


def niceness(pid: int) -> int:
    """Field 19 of /proc/PID/stat."""
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[16])


def test_a_connection_renices_its_server_process_when_asked(settings):
    settings.DATABASE_BACKEND_NICE = 7
    conn = connect()
    pid = conn.info.backend_pid
    if not os.path.exists(f"/proc/{pid}"):
        pytest.skip("PostgreSQL runs on another host")
    if os.geteuid() != 0:
        pytest.skip("only root may renice the server's processes")
    assert niceness(pid) == 7
    conn.close()
    settings.DATABASE_BACKEND_NICE = 0
    other = connect()
    assert niceness(other.info.backend_pid) == 0
    other.close()


def test_it_never_renices_a_process_that_is_not_a_local_postgres_server():
    mine = niceness(os.getpid())
    postgresql._renice("db.example.com", os.getpid(), 19)  # a pid of another host's server
    postgresql._renice("127.0.0.1", os.getpid(), 19)  # a local pid, but not postgres
    assert niceness(os.getpid()) == mine


def test_the_sites_connections_run_without_jit():
    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        assert cursor.fetchone() == ("off",)


def test_the_sites_server_side_cursors_are_planned_for_every_row():
    with connection.cursor() as cursor:
        cursor.execute("SHOW cursor_tuple_fraction")
        assert cursor.fetchone() == ("1",)


def test_the_health_check_asks_the_socket_not_the_server():
    """lntsite/db/postgresql_backend: no SELECT 1 before a request's first query, and a
    connection the server ended is still found out (and Django reconnects)."""
    assert connection.settings_dict["ENGINE"] == "lntsite.db.postgresql_backend"
    site = connection.copy("health")
    site.connect()
    site.health_check_enabled = True
    watcher = connect()
    watcher.autocommit = True
    try:
        with site.cursor() as cursor:
            cursor.execute("SELECT 'the last statement'")
            pid = site.connection.info.backend_pid
        assert site.is_usable()
        with watcher.cursor() as cursor:
            cursor.execute("SELECT query FROM pg_stat_activity WHERE pid = %s", [pid])
            assert cursor.fetchone() == ("SELECT 'the last statement'",)  # nothing sent
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
        deadline = time.monotonic() + 5
        while site.is_usable() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert not site.is_usable()
        site.health_check_done = False  # a new request (as Django's request_finished)
        site.close_if_health_check_failed()  # as Django does before its first query
        with site.cursor() as cursor:
            cursor.execute("SELECT 1")
            assert cursor.fetchone() == (1,)
        assert site.connection.info.backend_pid != pid
    finally:
        site.close()
        watcher.close()

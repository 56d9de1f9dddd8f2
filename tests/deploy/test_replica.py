"""The site on a real primary and streaming replica (pg_basebackup -R).

A private primary (tests/pgcluster.py) gets the schema and a token; a hot standby is
made from it; the site runs as a process with DATABASE_URL on the primary and
DATABASE_REPLICA_URL on the replica (tasks in-process: no broker needed).  Page reads
open sessions on the replica and none on the primary (pg_stat_database); a run
submitted while the replica's replay is paused is on the run page at once (read
again from the primary); ``?fresh`` reads the primary; with the replica stopped, pages
are still served, from the primary.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.deploy.test_bounded_waits import manage
from tests.factories import report_doc
from tests.pgcluster import Cluster, free_port_in, scratch_dir
from tests.pipeline.processes import free_port, kill_group, wait_for
from tests.test_pgcluster import PORTS, pytestmark  # noqa: F401 - same needs, same ports

ROOT = Path(__file__).resolve().parents[2]
DB = "lntsite"


def sessions(cluster: Cluster) -> int:
    """Sessions ever opened on the site's database of ``cluster`` (psql connects to
    ``postgres``, so this count is the site's alone)."""
    sql = f"SELECT sessions FROM pg_stat_database WHERE datname = '{DB}'"  # noqa: S608 - a constant
    return int(cluster.psql(sql))


class Site:
    def __init__(self, primary: Cluster, replica: Cluster, tmp: Path) -> None:
        self.primary, self.replica = primary, replica
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("DJANGO")},
            "DJANGO_SETTINGS_MODULE": "lntsite.settings",
            "DATABASE_URL": primary.url(DB),
            "DATABASE_REPLICA_URL": replica.url(DB),
            "PERF_REPLICA_CHECK_SECONDS": "1",
            "PERF_REPLICA_MAX_LAG_SECONDS": "3600",  # paused replay stays "usable" here
            "CELERY_BROKER_URL": "",
            "CELERY_TASK_ALWAYS_EAGER": "1",
            "PERF_DEBUG_TOOLBAR": "0",
            "PERF_VAR_DIR": str(tmp),
        }
        self.base = ""
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        port = free_port()
        with open(Path(self.env["PERF_VAR_DIR"]) / "web.log", "a") as log:
            self.proc = subprocess.Popen(  # noqa: S603 - our own manage.py
                [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.base = f"http://127.0.0.1:{port}"
        wait_for(lambda: self.status("/health") is not None, 60, "the web server")

    def status(self, path: str) -> int | None:
        try:
            with urllib.request.urlopen(self.base + path, timeout=10) as response:  # noqa: S310
                return response.status
        except urllib.error.HTTPError as exc:
            return exc.code
        except OSError:
            return None

    def submit(self, token: str, revision: int) -> int:
        doc = report_doc(revision=revision, tests={"bench/a": {"execution_time": [1.0]}})
        body = urllib.parse.urlencode({"input_data": json.dumps(doc)}).encode()
        request = urllib.request.Request(  # noqa: S310 - loopback
            f"{self.base}/db_default/v4/nts/submitRun?token={token}", data=body
        )
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return int(json.loads(response.read())["run_id"])

    def stop(self) -> None:
        if self.proc is not None:
            kill_group(self.proc, 15)
            self.proc.wait(timeout=20)


@pytest.fixture
def site() -> Iterator[tuple[Site, str]]:
    tmp = scratch_dir("lntsite-replica-")
    with Cluster.create(scratch_dir(), free_port_in(PORTS)) as primary:
        primary.create_database(DB)
        replica = primary.make_replica(scratch_dir(), free_port_in(PORTS))
        site = Site(primary, replica, tmp)
        manage(site.env, "migrate", "--no-input", "-v", "0")
        token = manage(site.env, "create_token", "replica-bot").strip().splitlines()[-1]
        replica.wait_caught_up()
        site.start()
        try:
            yield site, token
        finally:
            site.stop()
            print((tmp / "web.log").read_text()[-3000:])  # noqa: T201 - shown on failure


def settled(cluster: Cluster, at_least: int, timeout: float = 10) -> int:
    """The session count once it reaches ``at_least`` (statistics are flushed when a
    session ends, a moment after the answer)."""
    deadline = time.monotonic() + timeout
    while (count := sessions(cluster)) < at_least and time.monotonic() < deadline:
        time.sleep(0.2)
    return count


def test_page_reads_use_the_replica_and_a_new_run_is_seen_at_once(site):
    site, token = site
    primary, replica = site.primary, site.replica
    pages = ["/db_default/v4/nts/", "/db_default/v4/nts/machines", "/api/db_default/v4/nts/fields"]

    before_primary, before_replica = sessions(primary), sessions(replica)
    assert [site.status(page) for page in pages * 2] == [200] * 6
    assert settled(replica, before_replica + 6) >= before_replica + 6
    time.sleep(1)
    assert sessions(primary) == before_primary  # not one page read on the primary

    # A run submitted while the replica replays nothing is on its page at once.
    replica.psql("SELECT pg_wal_replay_pause()")
    run_id = site.submit(token, 7001)
    on_replica = f"SELECT count(*) FROM perf_run WHERE id = {run_id:d}"  # noqa: S608 - an int
    assert replica.psql(on_replica, DB) == "0"
    assert site.status(f"/db_default/v4/nts/{run_id}") == 200

    # ?fresh asks for the primary.
    before_primary = sessions(primary)
    assert site.status("/db_default/v4/nts/machines?fresh") == 200
    assert settled(primary, before_primary + 1) == before_primary + 1

    replica.psql("SELECT pg_wal_replay_resume()")
    replica.wait_caught_up()
    assert replica.psql(on_replica, DB) == "1"

    # The replica down: pages come from the primary, within the connect timeout.
    replica.stop()
    started = time.monotonic()
    assert [site.status(page) for page in pages] == [200] * 3
    assert time.monotonic() - started < 20

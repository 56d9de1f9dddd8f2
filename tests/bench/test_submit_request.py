"""bench/submit_request.py: each checkout named serves real submissions and gets a
row of figures, the server's own times among them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psycopg2
import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the bench needs PostgreSQL")
def test_two_checkouts_each_submit_and_print_their_medians():
    settings = connection.settings_dict
    base = (
        f"postgres://{settings['USER'] or 'postgres'}@{settings['HOST'] or '127.0.0.1'}:"
        f"{settings['PORT'] or 5432}/{settings['NAME']}_submitreq"
    )
    env = {**os.environ, "BENCH_DATABASE_URL": base, "CELERY_BROKER_URL": "memory://"}
    try:
        out = subprocess.run(
            [sys.executable, str(ROOT / "bench" / "submit_request.py"), "--tree", str(ROOT)]
            + ["--tree", str(ROOT), "--tests", "3", "--requests", "2", "--rounds", "1"]
            + ["--warmup", "0"],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=True,
        ).stdout
    finally:
        admin = psycopg2.connect(
            host=settings["HOST"] or "127.0.0.1",
            port=settings["PORT"] or 5432,
            user=settings["USER"] or "postgres",
            dbname="postgres",
        )
        admin.autocommit = True
        with admin.cursor() as cursor:
            for number in (1, 2):
                cursor.execute(f'DROP DATABASE IF EXISTS "{settings["NAME"]}_submitreq_{number}"')
        admin.close()
    lines = out.strip().splitlines()
    assert "3-test reports, 1 rounds x 2 submissions a checkout" in lines[1]
    assert lines[2].split()[-4:] == ["load_time", "import_time", "report_time", "total_time"]
    # Both turns are the same checkout's path: two rows would be one, keyed by path.
    rows = [line.split() for line in lines[3:]]
    assert len(rows) == 1 and rows[0][0].endswith(ROOT.name)
    wall, cpu, pg, load, imported, answered, total = map(float, rows[0][1:])
    assert 0 < imported <= total <= wall

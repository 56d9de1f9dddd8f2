"""bench/submit_vs_lnt.py's pure parts: the form it posts is the one ``lnt submit``
posts, every report of a run and of the next run stores a new revision, the bare
COPY gets every sample value of a report once, and the CPU of a database's backends
is read from the right processes."""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path
from urllib.parse import parse_qs

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))

import submit_vs_lnt  # noqa: E402 - bench/ is not a package
from write_speed import report  # noqa: E402


def test_the_form_has_the_fields_lnt_submit_sends_and_the_report_unchanged():
    raw = report(3, 7, random.Random(1))
    form = parse_qs(submit_vs_lnt.lnt_form(raw).decode("ascii"), strict_parsing=True)
    assert form == {
        "input_data": [raw],
        "commit": ["1"],
        "select_machine": ["match"],
        "merge": ["replace"],
    }


def test_ignore_regressions_is_sent_only_when_asked():
    raw = report(1, 7, random.Random(1))
    assert "ignore_regressions" not in parse_qs(submit_vs_lnt.lnt_form(raw).decode())
    asked = parse_qs(submit_vs_lnt.lnt_form(raw, ignore_regressions=True).decode())
    assert asked["ignore_regressions"] == ["True"]


def test_no_two_reports_of_a_run_or_of_the_next_run_share_a_revision():
    def revisions(now: float) -> set[int]:
        first = submit_vs_lnt.first_revision(now)
        return {
            submit_vs_lnt.revision_of(first, round_, target)
            for round_ in range(1000)
            for target in range(3)
        }

    this_run, next_run = revisions(1_800_000_000.0), revisions(1_800_000_001.0)
    assert len(this_run) == 3000
    assert this_run.isdisjoint(next_run)


def test_value_rows_hold_every_sample_value_of_the_report_once():
    raw = report(4, 7, random.Random(1))
    rows = submit_vs_lnt.value_rows(12, raw)
    assert len(rows) == 4 * 2 * 3
    tests = json.loads(raw)["tests"]
    assert rows[0] == [12, 0, 0, 0, tests[0]["execution_time"][0]]
    assert rows[-1] == [12, 3, 1, 2, tests[3]["compile_time"][2]]


def test_p90_of_one_value_is_that_value():
    assert submit_vs_lnt.p90([4.0]) == 4.0
    assert submit_vs_lnt.p90([float(v) for v in range(1, 11)]) > 9.0


def test_without_a_server_to_read_the_sampler_counts_nothing():
    sampler = submit_vs_lnt.BackendSampler(None, "any").start()
    assert sampler.stop() == 0.0


@pytest.mark.skipif(connection.vendor != "postgresql", reason="reads PostgreSQL's backends")
@pytest.mark.django_db
def test_it_finds_the_backend_of_this_database_and_not_of_a_namesake_prefix():
    db = connection.settings_dict
    url = f"postgres://{db['USER']}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    postmaster = submit_vs_lnt.postmaster_pid(url)
    assert postmaster is not None
    assert backend in submit_vs_lnt.backends_cpu(postmaster, db["NAME"])
    assert backend not in submit_vs_lnt.backends_cpu(postmaster, db["NAME"][:-1])

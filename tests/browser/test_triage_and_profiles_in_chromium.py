"""A person triages changes in no regression and reads a profile, in headless Chromium.

``transactional_db`` (through the ``history`` fixture) for the same reason as in
test_pages_in_chromium: the live server's thread must see committed rows.
"""

from __future__ import annotations

import base64
import pickle
import zlib

import pytest
from django.urls import reverse

from perf.formats.profiles import parse_profile, write_profile_v2
from perf.models import FieldChange
from tests.browser import test_pages_in_chromium as walk
from tests.factories import make_field_change, report_doc, submit_doc

ARTIFACTS = walk.ARTIFACTS
pytestmark = walk.pytestmark
# The walk's fixtures, shared by name (the browser, and its committed history).
browser_page = walk.browser_page
history = walk.history


def log_in(page, live_server, path: str) -> None:
    page.goto(live_server.url + reverse("login") + "?next=" + path)
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**" + path)


@pytest.fixture
def loose_changes(history) -> tuple[int, int]:
    """An improvement and a regression that grouping left alone, committed before the
    browser's event loop starts (no ORM call is allowed once it runs)."""
    improvement = make_field_change(
        machine="box-1", test="suite/t1", at_revision=1003, relative_change=-0.2
    )
    FieldChange.objects.filter(id=improvement.id).update(is_regression=False)
    noise = make_field_change(machine="box-1", test="suite/t2", at_revision=1005)
    return improvement.id, noise.id


def test_a_person_makes_a_regression_of_loose_changes_assigns_it_and_ignores_one(
    loose_changes, live_server, browser_page
):
    improvement, noise = loose_changes
    page, errors = browser_page
    triage = reverse("perf:triage", args=["nts"])
    log_in(page, live_server, triage)
    rows = page.locator("#triage-table tbody tr")
    assert rows.count() == 2
    page.screenshot(path=str(ARTIFACTS / "triage.png"), full_page=True)

    page.get_by_label(f"Choose change {noise}").check()
    page.get_by_label("Reason").fill("box-1 was rebooted")
    page.get_by_role("button", name="Ignore").click()
    assert "Ignored 1 change" in page.locator(".messages").inner_text()
    assert page.locator("#triage-table tbody tr").count() == 1
    page.get_by_label("Show").select_option("1")
    page.get_by_role("button", name="Filter").click()
    assert "box-1 was rebooted" in page.locator("#triage-table").inner_text()
    page.screenshot(path=str(ARTIFACTS / "triage-ignored.png"), full_page=True)

    page.get_by_label("Show").select_option("0")
    page.get_by_role("button", name="Filter").click()
    page.get_by_label(f"Choose change {improvement}").check()
    page.get_by_label("Title").fill("t1 faster on box-1")
    page.get_by_role("button", name="Create a regression").click()
    assert "t1 faster on box-1" in page.locator("h1").inner_text()

    page.get_by_label("Assignee").select_option(label="alice")
    page.get_by_label("Notes").fill("Probably the new scheduler <b>model</b>.")
    page.get_by_role("button", name="Save").click()
    assert page.locator("#regression-assignee").inner_text() == "alice"
    assert "scheduler <b>model</b>" in page.locator("#regression-notes").inner_text()
    history_text = page.locator(".history").inner_text()
    assert "alice assignee: → alice" in history_text and "alice notes" in history_text
    page.screenshot(path=str(ARTIFACTS / "regression-notes.png"), full_page=True)

    page.get_by_role("link", name="Regressions").first.click()
    page.get_by_label("Assigned to me").check()
    page.get_by_role("button", name="Filter").click()
    table = page.locator("#regression-table tbody").inner_text()
    assert "t1 faster on box-1" in table and "t0 slower on box-0" not in table
    assert errors == []


def v1_profile(scale: float) -> bytes:
    functions = {
        name: {
            "counters": {"cycles": share * scale, "branch-misses": 5.0},
            "data": [
                [{"cycles": float(j * j) * scale}, 0x401000 + 4 * j, f"{name[:3]} x{j}, x{j}, 1"]
                for j in range(12)
            ],
        }
        for name, share in (("main", 10.0), ("hot_loop", 70.0), ("helper", 20.0))
    }
    doc = {
        "disassembly-format": "raw",
        "counters": {"cycles": 900000.0 * scale, "branch-misses": 1200.0},
        "functions": functions,
    }
    return zlib.compress(pickle.dumps(doc, protocol=2))


@pytest.fixture
def profiled_runs(history) -> list[int]:
    """Two runs of one test with profiles: v1, then v2 with 30 % more cycles."""
    run_ids = []
    for revision, payload in (
        (2000, v1_profile(1.0)),
        (2001, write_profile_v2(parse_profile(v1_profile(1.3)))),
    ):
        doc = report_doc(
            machine="box-9", revision=revision, tests={"prof/a": {"execution_time": 1.0}}
        )
        doc["tests"][0]["profile"] = base64.b64encode(payload).decode()
        run_ids.append(submit_doc(doc).run_id)
    return run_ids


def test_a_person_reads_a_profile_against_another_run(profiled_runs, live_server, browser_page):
    run_ids = profiled_runs
    page, errors = browser_page
    page.goto(live_server.url + reverse("perf:run-detail", args=["nts", run_ids[0]]))
    page.get_by_role("link", name="prof/a").first.click()
    assert page.locator("h1").inner_text() == "Profile of prof/a"
    names = page.locator("#profile-functions tbody td:first-child").all_inner_texts()
    assert names == ["hot_loop", "helper", "main"]
    page.get_by_label("Compare with run").fill(str(run_ids[1]))
    page.get_by_role("button", name="Show").click()
    assert "+30.00" in page.locator("#profile-counters").inner_text()
    page.get_by_role("link", name="helper").click()
    assert page.locator("#code-title").inner_text() == "helper"
    assert page.locator(f"#disassembly-{run_ids[1]} tbody tr").count() == 12
    page.screenshot(path=str(ARTIFACTS / "profile.png"), full_page=True)
    assert errors == []


@pytest.fixture
def stepped_run(history) -> int:
    """box-1's run at the step (1004), which no stored change covers."""
    from perf.models import Run

    return Run.objects.get(machine__name="box-1", order__key="1004").id


def test_a_person_makes_a_regression_from_a_changed_row_of_a_run(
    stepped_run, live_server, browser_page
):
    page, errors = browser_page
    run = reverse("perf:run-detail", args=["nts", stepped_run])
    log_in(page, live_server, run)
    row = page.locator(".report-table tbody tr", has_text="suite/t0").first
    row.get_by_role("button", name="+ regression").click()
    page.wait_for_url("**/regressions/*")
    assert "box-1" in page.locator("#split-form").inner_text()
    assert "alice created" in page.locator(".history").inner_text()
    page.screenshot(path=str(ARTIFACTS / "regression-from-point.png"), full_page=True)
    assert errors == []

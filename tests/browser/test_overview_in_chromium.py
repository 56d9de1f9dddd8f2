"""A person's walk through the overview pages, in headless Chromium against a live server.

``transactional_db`` for the reason given in test_pages_in_chromium: the live server
reads with its own connection, so the data must be committed.
"""

from __future__ import annotations

import pytest

from perf.formats import BUILTIN_SUITES
from perf.services.suites import suite_save
from tests.browser.test_pages_in_chromium import ARTIFACTS, CHROMIUM, browser_page  # noqa: F401
from tests.factories import make_field_change, report_doc, submit_doc

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not __import__("os").path.exists(CHROMIUM), reason="needs chromium"),
]


@pytest.fixture
def week(transactional_db):
    """Two machines, three tests, one run a day from 2026-01-01 to 2026-01-12; test t1
    of box-0 is 25 % slower on the last day, and detection stored that change."""
    for schema in BUILTIN_SUITES.values():
        suite_save(schema)
    for day in range(12):
        for machine in ("box-0", "box-1"):
            tests = {}
            for t in range(3):
                level = (1.0 + t / 10) * (1 + 0.004 * ((day * 7 + t * 3) % 5 - 2))
                if machine == "box-0" and t == 1 and day == 11:
                    level *= 1.25
                tests[f"suite/t{t}"] = {"execution_time": [level, level * 1.001, level * 0.999]}
            doc = report_doc(
                machine=machine,
                revision=1000 + day,
                tests=tests,
                run={
                    "start_time": f"2026-01-{day + 1:02d}T03:00:00",
                    "end_time": f"2026-01-{day + 1:02d}T03:40:00",
                },
            )
            submit_doc(doc)
    make_field_change(machine="box-0", test="suite/t1", at_revision=1011, relative_change=0.25)


def test_a_person_reads_the_overview_pages(week, live_server, browser_page):  # noqa: F811
    page, errors = browser_page
    page.goto(live_server.url + "/db_default/v4/nts/")

    page.get_by_role("link", name="Dashboard").click()
    assert page.locator("h1").inner_text() == "Dashboard"
    assert page.locator(".sparkline svg polyline").count() == 2  # 2 machines x 1 metric
    page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)

    page.get_by_role("link", name="Status").click()
    first_row = page.locator("table.status-grid tbody tr").first
    assert "suite/t1" in first_row.inner_text() and "+23.51" in first_row.inner_text()
    page.screenshot(path=str(ARTIFACTS / "global-status.png"), full_page=True)
    page.get_by_label("Machine", exact=True).fill("box-1")
    page.get_by_role("button", name="Show").click()
    header = page.locator("table.status-grid thead").inner_text()
    assert "box-1" in header and "box-0" not in header

    page.get_by_role("link", name="Latest runs").click()
    box0 = page.locator("section.card", has_text="box-0")
    assert "Regressions (1)" in box0.inner_text()
    assert box0.locator(".badge-detected").count() == 1
    page.screenshot(path=str(ARTIFACTS / "latest-runs.png"), full_page=True)

    page.get_by_role("link", name="Matrix").click()
    page.get_by_label("Machine", exact=True).select_option(label="box-0")
    page.get_by_label("Test", exact=True).fill("suite/t1")
    page.get_by_role("button", name="Add series").click()
    page.get_by_label("Machine", exact=True).select_option(label="box-1")
    page.get_by_label("Test", exact=True).fill("suite/t1")
    page.get_by_role("button", name="Add series").click()
    assert page.locator("table.matrix thead th").count() == 3  # order + two series
    assert page.locator("table.matrix tbody tr").count() == 12
    assert "+2" in page.locator("table.matrix tbody tr").last.inner_text()
    page.screenshot(path=str(ARTIFACTS / "matrix.png"), full_page=True)

    page.get_by_role("link", name="Daily").click()
    assert "2026-01-12" in page.locator("h1").inner_text()
    assert "1 regression" in page.locator("main").inner_text()
    page.screenshot(path=str(ARTIFACTS / "daily-report.png"), full_page=True)
    page.get_by_role("link", name="← 2026-01-11").click()
    assert "2026-01-11" in page.locator("h1").inner_text()
    assert "0 regressions" in page.locator("main").inner_text()
    assert errors == []

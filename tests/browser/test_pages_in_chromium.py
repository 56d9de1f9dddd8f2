"""A person's walk through the site, in headless Chromium against a live server.

These tests use ``transactional_db``: the live server answers from another thread
with its own database connection, so the data must really be committed for it to
see it (the ``db`` fixture's rolled-back transaction would hide it).

Playwright's sync API runs an event loop in this thread, so every ORM call is
made before it starts or after it stops (Django refuses ORM calls from a thread
with a running loop).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from django.urls import reverse

from perf.formats import BUILTIN_SUITES
from perf.services.suites import suite_save
from tests.factories import make_field_change, make_regression, make_user, submit_grid

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="needs /usr/bin/chromium"),
]


@pytest.fixture
def browser_page():
    sync_api = pytest.importorskip("playwright.sync_api")
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        yield page, errors
        browser.close()


@pytest.fixture
def history(transactional_db):
    # transactional_db flushes every table after a test, the built-in suites
    # created by a data migration included; put them back (idempotent).
    for schema in BUILTIN_SUITES.values():
        suite_save(schema)
    submit_grid(machines=2, tests=3, orders=6, step_at=4)
    change = make_field_change(machine="box-0", test="suite/t0", at_revision=1004)
    regression = make_regression([change], title="t0 slower on box-0")
    make_user()
    return regression


def test_a_person_follows_a_machine_to_a_run_and_a_graph(history, live_server, browser_page):
    page, errors = browser_page
    page.goto(live_server.url + "/")
    page.get_by_role("link", name="box-0").first.click()
    # The latest run's counts arrive with their own request, into the page.
    summary = page.locator("#latest-summary[data-state=loaded]")
    summary.wait_for()
    assert "Execution Time" in summary.inner_text()
    # The run the latest is compared with ("run 10", at the step), not the menu's
    # "Latest runs".
    page.get_by_role("link", name=re.compile(r"^run \d+$")).first.click()
    assert page.locator("h1").inner_text().startswith("Run ")
    page.get_by_label("Metric").select_option("execution_time")
    page.get_by_role("button", name="Apply").click()
    assert "Regressions 1" in page.locator(".counts").inner_text()
    page.screenshot(path=str(ARTIFACTS / "run-report.png"), full_page=True)

    page.get_by_role("link", name="suite/t0").first.click()
    chart = page.locator("#chart[data-state=drawn]")
    chart.wait_for()
    assert chart.get_attribute("data-points") == "6"
    assert chart.get_attribute("data-markers") == "1"
    assert page.evaluate("() => document.querySelectorAll('#chart canvas').length") == 1
    page.screenshot(path=str(ARTIFACTS / "graph.png"), full_page=True)

    # Hover shows the revision; a click opens the run of that point.
    box = page.locator("#chart .u-over").bounding_box()
    page.mouse.move(box["x"] + box["width"] - 2, box["y"] + 5)
    page.mouse.move(box["x"] + box["width"] - 1, box["y"] + 4)
    assert "1005" in page.locator("#hover-info").inner_text()
    page.mouse.click(box["x"] + box["width"] - 1, box["y"] + 4)
    page.wait_for_url(re.compile(r".*/db_default/v4/nts/\d+$"))
    assert page.locator("h1").inner_text().startswith("Run ")
    assert errors == []


def test_a_logged_in_person_moves_a_regression_to_active(history, live_server, browser_page):
    page, errors = browser_page
    detail = reverse("perf:regression-detail", args=["nts", history.id])
    page.goto(live_server.url + detail)
    assert page.locator("#triage-form").count() == 0
    page.get_by_role("link", name="Log in").first.click()
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**" + detail)
    page.locator(".mini-graph[data-state=drawn]").first.wait_for()
    page.get_by_label("State").select_option(label="Active")
    page.get_by_role("button", name="Save").click()
    assert "Saved: state" in page.locator(".messages").inner_text()
    assert "alice state: Detected → Active" in page.locator(".history").inner_text()

    page.get_by_role("link", name="Regressions").click()
    row = page.locator("#regression-table tbody tr", has_text="t0 slower on box-0")
    assert "Active" in row.inner_text()
    page.screenshot(path=str(ARTIFACTS / "regressions.png"), full_page=True)
    assert errors == []

"""Every page family in Chromium on a database LNT itself wrote, brought over with
``manage.py import_lnt_db`` (the corpus's lnt-instance: 3 suites, 20 runs, LNT's own
field changes, two regressions, a baseline and a profile).

Same live-server setup as test_pages_in_chromium: data committed with
``transactional_db``, every ORM call made before Playwright starts.  Besides page
errors, any console error (a Content-Security-Policy violation is one) fails the walk.
Screenshots go to test-artifacts/lnt-*.png.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.urls import reverse

from perf.formats import BUILTIN_SUITES
from perf.models import Machine, Metric, Profile, Regression, Run, Test
from perf.services.suites import suite_save
from tests.browser.test_pages_in_chromium import ARTIFACTS, browser_page  # noqa: F401
from tests.factories import make_user

pytestmark = [pytest.mark.browser]

INSTANCE = Path("/work/shared/lnt-corpus/lnt-instance")
if not INSTANCE.exists():  # the corpus in the repository's own copy, if any
    INSTANCE = Path(__file__).resolve().parents[1] / "data" / "lnt-corpus" / "lnt-instance"


@pytest.fixture
def imported(transactional_db) -> dict[str, Any]:
    """The corpus's LNT instance imported, and the ids the walk needs."""
    if not INSTANCE.exists():
        pytest.skip("needs the LNT corpus's lnt-instance")
    for schema in BUILTIN_SUITES.values():
        suite_save(schema)
    call_command("import_lnt_db", str(INSTANCE), "--no-detect", stdout=None, stderr=None)
    make_user()
    machine2 = Machine.objects.get(suite__name="nts", name="machine2")
    runs = list(Run.objects.filter(machine=machine2).order_by("order__position"))
    metric = Metric.objects.get(suite__name="nts", name="execution_time")
    test1 = Test.objects.get(suite__name="nts", name="test1")
    hashed = Test.objects.get(suite__name="nts", name="test_hash1")
    profile = Profile.objects.select_related("test").get(run__suite__name="nts")
    return {
        "machine2": machine2.id,
        "runs": [r.id for r in runs],
        "plots": [f"{machine2.id}.{t.id}.{metric.position}" for t in (test1, hashed)],
        "mean": f"{machine2.id}.{metric.position}",
        "active": Regression.objects.get(suite__name="nts", state=Regression.ACTIVE).id,
        "profile": (profile.run_id, profile.test_id, profile.test.name),
    }


def test_every_page_family_works_on_an_imported_lnt_database(
    imported,
    live_server,
    browser_page,  # noqa: F811 - the imported fixture
):
    page, errors = browser_page
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    ids = imported
    base = live_server.url

    def visit(name: str, url: str, shot: str) -> str:
        page.goto(base + url)
        page.screenshot(path=str(ARTIFACTS / f"lnt-{shot}.png"), full_page=True)
        assert page.locator("h1").count() == 1, name
        return page.locator("main").inner_text()

    def url(name: str, *args: Any) -> str:
        return reverse(name, args=["nts", *args])

    text = visit("home", "/", "home")
    assert "nts" in text and "compile" in text and "my_suite" in text

    # The run of machine2 at the step: LNT's test1 1.0 -> 10.0.
    step_run = ids["runs"][2]
    text = visit("run", url("perf:run-detail", step_run), "run-report")
    assert "machine2" in text and "test1" in text and "152293" in text
    text = visit(
        "run vs baseline", url("perf:run-detail", step_run) + "?baseline=release-1", "run-baseline"
    )
    assert "baseline release-1" in text

    text = visit(
        "compare",
        url("perf:compare") + f"?a={ids['runs'][1]}&b={step_run}",
        "compare",
    )
    assert "test1" in text
    sides = (
        url("perf:compare-sides")
        + f"?a_runs={ids['runs'][1]}&b_runs={step_run}&metric=execution_time"
    )
    text = visit("compare sides", sides, "compare-sides")
    row = page.locator("#compare-table tbody tr", has_text="test1")
    assert "regressed" in row.inner_text()
    page.locator("#ratio-chart[data-state=drawn]").wait_for()

    graph = url("perf:graph") + "?" + "&".join(
        f"plot.{i}={p}" for i, p in enumerate(ids["plots"])
    ) + f"&mean={ids['mean']}&baseline.before={ids['runs'][3]}"
    visit("graph", graph, "graph-pre")
    chart = page.locator("#chart[data-state=drawn]")
    chart.wait_for()
    # Dashed lines: test1 at the suite's baseline release-1 (152292), test_hash1 in
    # LNT's baseline.before run (152294; test1 did not run there).
    assert chart.get_attribute("data-baselines") == "2"
    page.screenshot(path=str(ARTIFACTS / "lnt-graph.png"), full_page=True)

    text = visit("orders", url("perf:order-list"), "orders")
    assert "152296" in text and "265649" in text
    text = visit("baselines", url("perf:baseline-list"), "baselines")
    assert "release-1" in text and "152292" in text
    matrix = url("perf:matrix") + "?" + "&".join(
        f"plot.{i}={p}" for i, p in enumerate(ids["plots"])
    )
    visit("matrix", matrix, "matrix")
    assert page.locator("table.matrix tbody tr").count() >= 5  # machine2's five orders
    # The newest run is of 2017 and machine2 last ran in 2012: out of the default
    # 7 days, and the page says how to see it.
    visit("global status", url("perf:global-status"), "global-status-recent")
    page.get_by_role("link", name="show every machine").click()
    header = page.locator("table.status-grid thead").inner_text()
    assert "machine2" in header
    page.screenshot(path=str(ARTIFACTS / "lnt-global-status.png"), full_page=True)
    text = visit("latest runs", url("perf:latest-runs"), "latest-runs")
    assert "machine2" in text and "LNT SAMPLE MACHINE" in text
    visit("dashboard", url("perf:dashboard"), "dashboard")
    assert page.locator(".sparkline svg polyline").count() >= 1
    text = visit("daily", url("perf:daily") + "?day=2012-05-12&days=14", "daily-report")
    assert "2012-05-12" in page.locator("h1").inner_text() and "machine2" in text

    text = visit("regressions", url("perf:regression-list"), "regressions")
    assert "hash tests slower after 152296" in text
    text = visit("regression", url("perf:regression-detail", ids["active"]), "regression")
    assert "hash tests slower after 152296" in page.locator("h1").inner_text()
    assert "test_hash1" in text and "Active" in text
    page.locator(".mini-graph[data-state=drawn]").first.wait_for()

    run_id, test_id, test_name = ids["profile"]
    text = visit("profile", url("perf:profile", run_id, test_id), "profile")
    assert test_name in text

    # A logged-in person triages, and tracks a compare row in a new regression.
    page.goto(base + reverse("login") + "?next=" + url("perf:triage"))
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**" + url("perf:triage"))
    assert page.locator("h1").count() == 1
    page.screenshot(path=str(ARTIFACTS / "lnt-triage.png"), full_page=True)
    # 152295 -> 152296: LNT grouped three hash tests in the Active regression; test6
    # moved too, with no change recorded: adding the regressed rows makes one for it.
    hashes = (
        url("perf:compare-sides")
        + f"?a_runs={ids['runs'][4]}&b_runs={ids['runs'][5]}&metric=execution_time"
    )
    page.goto(base + hashes)
    page.locator("#ratio-chart[data-state=drawn]").wait_for()
    page.get_by_role("button", name="Choose the regressed rows shown").click()
    assert page.get_by_label("choose test6").is_checked()
    page.screenshot(path=str(ARTIFACTS / "lnt-compare-choose.png"), full_page=True)
    page.get_by_label("or regression").fill(str(ids["active"]))
    page.get_by_role("button", name="Add chosen rows to it").click()
    page.wait_for_url("**" + url("perf:regression-detail", ids["active"]))
    added = page.locator(".messages").inner_text()
    assert f"Added to regression {ids['active']}: 1 change" in added
    assert "test6" in page.locator("main").inner_text()
    page.screenshot(path=str(ARTIFACTS / "lnt-compare-regression.png"), full_page=True)
    assert errors == []

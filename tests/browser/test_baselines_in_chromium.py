"""A person promotes an order to a baseline, renames it, compares a run against it and
sees it on a graph, in headless Chromium (see test_pages_in_chromium for the setup)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from perf.models import Run, Series
from tests.browser.test_pages_in_chromium import (  # noqa: F401 -- pytest fixtures
    ARTIFACTS,
    browser_page,
    history,
    pytestmark,
)


@pytest.fixture
def walk(history):  # noqa: F811 -- the fixture imported above
    """The runs and graph URL the walk needs, read before the browser's event loop."""
    first = Run.objects.filter(machine__name="box-0").order_by("position").first()
    last = Run.objects.filter(machine__name="box-0").order_by("-position").first()
    series = Series.objects.select_related("metric").get(
        machine__name="box-0", test__name="suite/t0", metric__name="execution_time"
    )
    assert first is not None and last is not None
    graph = reverse("perf:graph", args=["nts"]) + (
        f"?plot={series.machine_id}.{series.test_id}.{series.metric.position}"
    )
    return first, last, graph


def test_a_person_promotes_an_order_and_compares_and_graphs_against_it(
    walk,
    live_server,
    browser_page,  # noqa: F811 -- the fixture imported above
):
    first, last, graph = walk
    page, errors = browser_page
    page.goto(live_server.url + reverse("perf:run-detail", args=["nts", first.id]))
    assert "Log in to promote" in page.locator("#baseline-title + p + p").inner_text()
    page.get_by_role("link", name="Log in").first.click()
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Log in").click()
    page.get_by_label("Promote this order to a baseline named").fill("release <1>")
    page.get_by_role("button", name="Promote").click()
    assert "Baseline release <1> created." in page.locator(".messages").inner_text()
    assert (
        "This order is baseline: release <1>"
        in page.locator("#promote-form").locator("..").inner_text()
    )

    page.get_by_role("link", name="All baselines").click()
    page.get_by_label("New name for release <1>").fill("rel-1")
    page.get_by_role("button", name="Rename").click()
    assert "rel-1" in page.locator("#baselines").inner_text()
    page.screenshot(path=str(ARTIFACTS / "baselines.png"), full_page=True)

    page.goto(live_server.url + reverse("perf:run-detail", args=["nts", last.id]))
    page.get_by_label("Metric").select_option("execution_time")
    page.get_by_role("combobox", name="Baseline", exact=True).fill("rel-1")
    page.get_by_role("button", name="Apply").click()
    heading = page.locator("h2", has_text="Against baseline rel-1")
    assert f"run {first.id}" in heading.inner_text()
    page.screenshot(path=str(ARTIFACTS / "run-against-baseline.png"), full_page=True)

    page.goto(live_server.url + graph)
    page.locator("#chart[data-state=drawn]").wait_for()
    assert page.locator("#chart").get_attribute("data-baselines") == "1"
    page.screenshot(path=str(ARTIFACTS / "graph-baseline.png"), full_page=True)
    assert errors == []

"""A person's walk through the order pages and the graph's LNT-grade options, in Chromium.

Same live-server setup as test_pages_in_chromium (whose fixtures this reuses): data
committed with ``transactional_db``, every ORM call made before Playwright starts.
"""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from perf.models import Machine, Metric, Run, Test

# pytest fixtures shared with the site walk: imported, then used as test arguments.
from tests.browser.test_pages_in_chromium import (  # noqa: F401
    ARTIFACTS,
    browser_page,
    history,
)

pytestmark = [pytest.mark.browser]


def test_a_person_walks_orders_to_a_neighbour_and_a_compare(
    history,  # noqa: F811 - the imported fixture
    live_server,
    browser_page,  # noqa: F811 - the imported fixture
):
    page, errors = browser_page
    page.goto(live_server.url + reverse("perf:suite-home", args=["nts"]))
    page.get_by_role("navigation", name="Suite").get_by_role("link", name="Orders").click()
    rows = page.locator("#order-table tbody tr")
    assert rows.first.inner_text().startswith("1005")
    page.get_by_label("Revision", exact=True).fill("1003")
    page.get_by_role("button", name="Find").click()
    assert rows.count() == 1
    page.screenshot(path=str(ARTIFACTS / "order-list.png"), full_page=True)

    page.get_by_role("link", name="1003").click()
    assert page.locator("h1").inner_text() == "Order 1003"
    runs = page.locator("#order-runs tbody tr")
    assert runs.count() == 2 and "box-0" in runs.first.inner_text()
    page.screenshot(path=str(ARTIFACTS / "order-detail.png"), full_page=True)
    page.get_by_role("link", name=re.compile("Next order 1004")).click()
    assert page.locator("h1").inner_text() == "Order 1004"
    page.get_by_role("link", name="with the machine's previous run").first.click()
    page.wait_for_url(re.compile(r".*/compare\?a=\d+&b=\d+$"))
    assert errors == []


@pytest.fixture
def graph_ids(history):  # noqa: F811 - the imported fixture
    """What the walk needs from the database, read before Playwright starts."""
    metric = Metric.objects.get(suite__name="nts", name="execution_time")
    box0, test = Machine.objects.get(name="box-0"), Test.objects.get(name="suite/t0")
    first = Run.objects.filter(machine=box0).order_by("position").first()
    # Free parameters on the newest runs: the hover decodes them from their JSON text.
    Run.objects.filter(order__key="1005").update(parameters={"build_log": "<b>log</b>"})
    return metric, box0, test, first.id


def test_a_person_overlays_machines_adds_a_mean_and_reads_raw_samples(
    graph_ids,
    live_server,
    browser_page,  # noqa: F811 - the imported fixture
):
    metric, box0, test, first_run = graph_ids
    page, errors = browser_page
    page.goto(live_server.url + reverse("perf:graph", args=["nts"]))
    page.get_by_label("All machines that run these tests").check()
    page.get_by_label("Test names, one a line").fill("suite/t0")
    page.locator("#add-metric").select_option(str(metric.position))
    page.get_by_role("button", name="Add to graph").click()
    chart = page.locator("#chart[data-state=drawn]")
    chart.wait_for()
    assert chart.get_attribute("data-points") == "12"  # 2 machines x 6 orders
    assert chart.get_attribute("data-ylabel") == f"{metric.label} (s)"

    # Resting on the newest point shows its raw samples, fetched for that point.
    box = page.locator("#chart .u-over").bounding_box()
    page.mouse.move(box["x"] + box["width"] - 2, box["y"] + 5)
    page.mouse.move(box["x"] + box["width"] - 1, box["y"] + 4)
    page.locator("#hover-info[data-samples=shown]").wait_for()
    info = page.locator("#hover-info").inner_text()
    assert "1005" in info and "1.2000, 1.2012, 1.1988 s" in info
    assert "BUILD_LOG\n<b>log</b>" in info  # as text, not markup (CSS upper-cases terms)
    page.screenshot(path=str(ARTIFACTS / "graph-machines-samples.png"), full_page=True)

    page.get_by_label("Machines", exact=True).select_option(label="box-0")
    page.get_by_label("Geometric mean of all tests on the chosen machines").check()
    page.get_by_role("button", name="Add to graph").click()
    page.locator("#chart[data-state=drawn]").wait_for()
    assert "Geometric mean of all tests" in page.locator("#graph-legend").inner_text()
    assert f"mean={box0.id}.{metric.position}" in page.url
    page.get_by_label("Normalise by median").check()
    page.wait_for_function("document.querySelector('#chart').dataset.ylabel.startsWith('ratio')")
    assert "normalize_by_median=1" in page.url
    page.screenshot(path=str(ARTIFACTS / "graph-mean-normalised.png"), full_page=True)

    # LNT's URL for the same graph opens the same view, with its options honoured.
    lnt = (
        f"?plot.0={box0.id}.{test.id}.{metric.position}&mean={box0.id}.{metric.position}"
        f"&show_moving_average=1&moving_window_size=3&baseline.release={first_run}&show_stddev=1"
    )
    page.goto(live_server.url + reverse("perf:graph", args=["nts"]) + lnt)
    page.locator("#chart[data-state=drawn]").wait_for()
    assert page.get_by_label("Smoothing").input_value() == "mean"
    assert page.locator("#opt-window").input_value() == "3"
    # baseline.release: t0 in box-0's first run, a dashed line; nothing ignored.
    assert page.locator(".note").count() == 0
    assert page.locator("#chart").get_attribute("data-baselines") == "1"
    assert page.locator("#graph-legend li").count() == 2
    assert page.locator("#chart").get_attribute("data-bands") == "1"  # the mean has no σ
    assert page.get_by_label("Mean ± standard deviation").is_checked()
    page.screenshot(path=str(ARTIFACTS / "graph-lnt-url.png"), full_page=True)
    assert errors == []

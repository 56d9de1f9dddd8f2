"""A person compares two sides in headless Chromium, zooms the log2-ratio chart to
the slower tests, shares the URL and copies the rows (see test_pages_in_chromium for
the setup)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from perf.formats import BUILTIN_SUITES
from perf.services.suites import suite_save
from tests.browser.test_pages_in_chromium import (  # noqa: F401 -- pytest fixtures
    ARTIFACTS,
    browser_page,
    pytestmark,
)
from tests.factories import submit_grid


@pytest.fixture
def grid(transactional_db):
    for schema in BUILTIN_SUITES.values():
        suite_save(schema)
    # 12 tests; from the second order on, test 0 is 1.5 times slower.
    submit_grid(machines=1, tests=12, orders=2, step_at=1, step_factor=1.5)


def test_a_person_compares_two_orders_and_zooms_to_the_slower_tests(
    grid,
    live_server,
    browser_page,  # noqa: F811 -- the fixture imported above
):
    page, errors = browser_page
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.goto(live_server.url + reverse("perf:compare", args=["nts"]))
    page.get_by_role("link", name="compare two sides").click()
    old = page.get_by_role("group", name="Old side (a)")
    old.get_by_label("Machine").fill("box-0")
    old.get_by_label("or orders").fill("1000")
    new = page.get_by_role("group", name="New side (b)")
    new.get_by_label("Machine").fill("box-0")
    new.get_by_label("or orders").fill("1001")
    page.get_by_role("button", name="Compare").click()
    page.get_by_label("Metric").select_option("execution_time")
    page.get_by_role("button", name="Compare").click()
    page.locator("#ratio-chart[data-state=drawn]").wait_for()
    assert "12 of 12 tests shown" in page.locator("#compare-status").inner_text()
    assert "regressed 1" in page.locator("#compare-counts").inner_text()
    page.screenshot(path=str(ARTIFACTS / "compare-sides.png"), full_page=True)

    # Drag across the right end of the chart (the largest ratio): only t0 stays.
    # uPlot ignores drag moves whose movementX is 0, which is what headless Chromium's
    # synthetic mouse reports; so the same press, moves and release are dispatched as
    # DOM events carrying movementX, at the points a person would use.
    box = page.locator("#ratio-chart .u-over").bounding_box()
    assert box is not None
    page.evaluate(
        """([x0, x1, y]) => {
            const over = document.querySelector('#ratio-chart .u-over');
            const ev = (type, x, dx) => new MouseEvent(type, {bubbles: true, clientX: x,
                clientY: y, button: 0, buttons: 1, movementX: dx, view: window});
            over.dispatchEvent(ev('mouseenter', x0, 0));
            over.dispatchEvent(ev('mousemove', x0, 1));
            over.dispatchEvent(ev('mousedown', x0, 0));
            for (let x = x0 + 2; x <= x1; x += 2) over.dispatchEvent(ev('mousemove', x, 2));
            document.dispatchEvent(ev('mouseup', x1, 0));
        }""",
        # From near the right end to past it (the selection stops at the plot's edge).
        [
            box["x"] + box["width"] * 0.95,
            box["x"] + box["width"] + 20,
            box["y"] + box["height"] / 2,
        ],
    )
    page.wait_for_function("() => document.querySelector('#ratio-chart').dataset.shown === '1'")
    visible = page.locator("#compare-table tbody tr:not([hidden])")
    assert visible.count() == 1 and "suite/t0" in visible.inner_text()
    assert "zlo=" in page.url and "zhi=" in page.url
    page.screenshot(path=str(ARTIFACTS / "compare-sides-zoomed.png"), full_page=True)

    page.get_by_role("button", name="Copy as CSV").click()
    page.wait_for_function(
        "() => document.querySelector('#compare-status').textContent.startsWith('Copied')"
    )
    copied = page.evaluate("() => navigator.clipboard.readText()")
    lines = copied.strip().splitlines()
    assert (
        lines[0].startswith("test,old,new") and len(lines) == 2 and lines[1].startswith("suite/t0,")
    )

    # The URL reproduces the zoomed view.
    page.goto(page.url)
    page.locator("#ratio-chart[data-state=drawn]").wait_for()
    assert page.locator("#compare-table tbody tr:not([hidden])").count() == 1
    assert "1 of 12 tests shown" in page.locator("#compare-status").inner_text()
    assert errors == []

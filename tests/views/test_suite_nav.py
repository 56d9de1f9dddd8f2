"""The suite's navigation links, rendered once per suite (perf/templatetags/perf_nav.py)."""

from __future__ import annotations

import pytest
from django.urls import reverse, set_script_prefix

from perf.templatetags.perf_nav import _suite_nav, suite_nav

pytestmark = pytest.mark.django_db


def test_every_suite_page_links_the_suites_pages_from_one_rendering(client):
    _suite_nav.cache_clear()
    for name in ("perf:machine-list", "perf:order-list", "perf:machine-list"):
        body = client.get(reverse(name, args=["nts"])).content.decode()
        assert (
            '<header class="top">\n  <a class="brand" href="/">lntsite</a>\n  \n'
            '  <nav aria-label="Suite">\n'
            '    <a href="/db_default/v4/nts/" class="suite-name">nts</a>\n'
            '    <a href="/db_default/v4/nts/machines">Machines</a>\n'
        ) in body
        assert '<a href="/db_default/v4/nts/daily">Daily</a>\n  </nav>\n  <form' in body
    assert (_suite_nav.cache_info().misses, _suite_nav.cache_info().hits) == (1, 2)


def test_the_links_follow_the_script_prefix_and_the_suite():
    try:
        set_script_prefix("/lnt/")
        under_prefix = suite_nav("nts")
    finally:
        set_script_prefix("/")
    assert '<a href="/lnt/db_default/v4/nts/graph">Graph</a>' in under_prefix
    assert '<a href="/db_default/v4/nts/graph">Graph</a>' in suite_nav("nts")
    assert '<a href="/db_default/v4/compile/graph">Graph</a>' in suite_nav("compile")

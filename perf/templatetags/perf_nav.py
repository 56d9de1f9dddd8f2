"""``{% suite_nav suite.name %}``: the suite's navigation links of every page, rendered
once per suite and process (12 ``{% url %}`` a page otherwise, a tenth of the machine
page's time: docs/performance.md "machine page vs LNT")."""

from __future__ import annotations

from functools import lru_cache

from django import template
from django.conf import settings
from django.template.loader import render_to_string
from django.urls import get_script_prefix, get_urlconf
from django.utils.safestring import SafeString, mark_safe

register = template.Library()


@register.simple_tag
def suite_nav(suite_name: str) -> SafeString:
    """perf/includes/suite_nav.html for ``suite_name``.  The links depend on nothing
    else but the URLconf and the script prefix the site is served under, which are
    part of the key."""
    return _suite_nav(suite_name, get_urlconf() or settings.ROOT_URLCONF, get_script_prefix())


@lru_cache(maxsize=256)  # suites, not requests: bounded by the suites that exist
def _suite_nav(suite_name: str, urlconf: str, script_prefix: str) -> SafeString:
    html = render_to_string("perf/includes/suite_nav.html", {"suite_name": suite_name})
    return mark_safe(html)  # noqa: S308 - a template's output, escaped by it

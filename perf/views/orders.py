"""The order pages: all orders of a suite, and one order with the runs at it."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from ..selectors import baselines as baseline_selectors
from ..selectors import orders as order_selectors
from . import lnt_links
from .common import page_of, page_rows, suite_or_404

SEARCH_MAX = 200  # characters of a revision search; longer input is cut, not an error


def order_list(request: HttpRequest, suite: str) -> HttpResponse:
    """Orders newest first, 50 a page, optionally filtered by ``q`` (revision substring)."""
    suite_obj = suite_or_404(suite)
    search = request.GET.get("q", "").strip()[:SEARCH_MAX]
    page = page_of(request)
    orders = page_rows(
        page,
        order_selectors.order_list(
            suite_obj, search=search, offset=page.offset, limit=page.size + 1
        ),
    )
    return render(
        request,
        "perf/order_list.html",
        {"suite": suite_obj, "orders": orders, "page": page, "search": search},
    )


def order_detail(request: HttpRequest, suite: str, order_id: int) -> HttpResponse:
    """An order: its runs on every machine, its neighbours, links to reports and compare,
    the baselines it is and (logged in) a form to promote it, as on LNT's order page."""
    suite_obj = suite_or_404(suite)
    order = order_selectors.order_detail(suite_obj, order_id)
    if order is None:
        return lnt_links.order_moved(suite_obj, order_id)  # an LNT order id, or 404
    context = {
        "suite": suite_obj,
        "order": order,
        "order_id": order_id,
        "order_baselines": baseline_selectors.order_baselines(order_id),
    }
    return render(request, "perf/order_detail.html", context)

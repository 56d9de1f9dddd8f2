"""LNT's URLs after ``import_lnt_db``: each redirects to the page of the same row.

``/db_default/v4/<suite>/<run>``, ``.../regressions/<id>`` and ``.../graph`` are this
site's own pages too: they answer directly, and only fall back here when the id is
not this suite's (see ``perf.selectors.lnt_links`` for the rule).  LNT's order page
has no twin here: ``order/<id>`` opens the first run at that order.
"""

from __future__ import annotations

import re
from urllib.parse import urlencode

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

from ..models import TestSuite
from ..selectors import lnt_links
from .common import suite_or_404

_LNT_PLOT = re.compile(r"^\s*(\d+)\.(\d+)\.(\d+)\s*$")
_LNT_PLOT_KEY = re.compile(r"^plot\.\d+$")


def _resolve(suite: TestSuite, kind: str, lnt_id: int) -> int:
    local = lnt_links.lnt_local_id(suite, kind, lnt_id)
    if local is None:
        raise Http404(f"No such {kind}.")
    return local


def run_moved(suite: TestSuite, run_id: int) -> HttpResponse:
    """For the run page when ``run_id`` is not a run of ``suite``: LNT's run, if mapped."""
    local = lnt_links.lnt_mapped_id(suite, "run", run_id)
    if local is None or local == run_id:
        raise Http404("No such run.")
    return HttpResponseRedirect(reverse("perf:run-detail", args=[suite.name, local]))


def regression_moved(suite: TestSuite, regression_id: int) -> HttpResponse:
    """For the regression page when the id is not a regression of ``suite``."""
    local = lnt_links.lnt_mapped_id(suite, "regression", regression_id)
    if local is None or local == regression_id:
        raise Http404("No such regression.")
    return HttpResponseRedirect(reverse("perf:regression-detail", args=[suite.name, local]))


def run(request: HttpRequest, suite: str, run_id: int) -> HttpResponse:
    """``/v4/<suite>/<run>`` (LNT's run link without the database prefix)."""
    suite_obj = suite_or_404(suite)
    local = _resolve(suite_obj, "run", run_id)
    return HttpResponseRedirect(reverse("perf:run-detail", args=[suite, local]))


def machine(request: HttpRequest, suite: str, machine_id: int) -> HttpResponse:
    """``[/db_default]/v4/<suite>/machine/<id>`` -> this site's machine page."""
    suite_obj = suite_or_404(suite)
    local = _resolve(suite_obj, "machine", machine_id)
    return HttpResponseRedirect(reverse("perf:machine-detail", args=[suite, local]))


def order(request: HttpRequest, suite: str, order_id: int) -> HttpResponse:
    """``[/db_default]/v4/<suite>/order/<id>`` -> the first run at that order."""
    suite_obj = suite_or_404(suite)
    local = _resolve(suite_obj, "order", order_id)
    run_id = lnt_links.order_first_run(local)
    if run_id is None:
        raise Http404("No run at this order.")
    return HttpResponseRedirect(reverse("perf:run-detail", args=[suite, run_id]))


def regression(request: HttpRequest, suite: str, regression_id: int) -> HttpResponse:
    """``/v4/<suite>/regressions/<id>`` (without the database prefix)."""
    suite_obj = suite_or_404(suite)
    local = _resolve(suite_obj, "regression", regression_id)
    return HttpResponseRedirect(reverse("perf:regression-detail", args=[suite, local]))


def graph_redirect(request: HttpRequest, suite: TestSuite) -> HttpResponse | None:
    """LNT's ``graph?plot.0=<machine>.<test>.<field index>`` as this site's graph URL
    (``plot=<machine>.<test>.<metric position>``), or None when the URL is not LNT's.

    LNT's ``highlight_run`` becomes ``highlight``.  A plot whose machine or test
    nothing knows is dropped (the graph page says what it shows).
    """
    lnt_keys = sorted(
        (k for k in request.GET if _LNT_PLOT_KEY.match(k)), key=lambda k: int(k.split(".")[1])
    )
    if not lnt_keys:
        return None
    query: list[tuple[str, str]] = [("plot", p) for p in request.GET.getlist("plot")]
    for key in lnt_keys:
        match = _LNT_PLOT.match(request.GET[key])
        if match is None:
            continue
        machine_id, test_id, field = (int(g) for g in match.groups())
        local_machine = lnt_links.lnt_local_id(suite, "machine", machine_id)
        local_test = lnt_links.lnt_local_id(suite, "test", test_id)
        if local_machine is None or local_test is None:
            continue
        position = lnt_links.lnt_field_position(suite, field)
        query.append(("plot", f"{local_machine}.{local_test}.{position}"))
    highlight = request.GET.get("highlight_run", "")
    if highlight.isdigit():
        local_run = lnt_links.lnt_local_id(suite, "run", int(highlight))
        if local_run is not None:
            query.append(("highlight", str(local_run)))
    return HttpResponseRedirect(
        reverse("perf:graph", args=[suite.name]) + ("?" + urlencode(query) if query else "")
    )


def graph(request: HttpRequest, suite: str) -> HttpResponse:
    """``/v4/<suite>/graph?plot.0=...`` (without the database prefix)."""
    suite_obj = suite_or_404(suite)
    moved = graph_redirect(request, suite_obj)
    if moved is not None:
        return moved
    query = request.GET.urlencode()
    return HttpResponseRedirect(
        reverse("perf:graph", args=[suite]) + ("?" + query if query else "")
    )

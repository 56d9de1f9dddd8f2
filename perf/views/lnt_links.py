"""LNT's URLs after ``import_lnt_db``: each redirects to the page of the same row.

``/db_default/v4/<suite>/<run>``, ``.../regressions/<id>`` and ``.../graph`` are this
site's own pages too, as are ``.../order/<id>``: they answer directly, and only fall
back here when the id is not this suite's (see ``perf.selectors.lnt_links`` for the
rule).
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


def order_moved(suite: TestSuite, order_id: int) -> HttpResponse:
    """For the order page when the id is not an order of ``suite``: LNT's, if mapped."""
    local = lnt_links.lnt_mapped_id(suite, "order", order_id)
    if local is None or local == order_id:
        raise Http404("No such order.")
    return HttpResponseRedirect(reverse("perf:order-detail", args=[suite.name, local]))


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
    """``/v4/<suite>/order/<id>`` (without the database prefix) -> the order page."""
    suite_obj = suite_or_404(suite)
    local = _resolve(suite_obj, "order", order_id)
    return HttpResponseRedirect(reverse("perf:order-detail", args=[suite, local]))


def regression(request: HttpRequest, suite: str, regression_id: int) -> HttpResponse:
    """``/v4/<suite>/regressions/<id>`` (without the database prefix)."""
    suite_obj = suite_or_404(suite)
    local = _resolve(suite_obj, "regression", regression_id)
    return HttpResponseRedirect(reverse("perf:regression-detail", args=[suite, local]))


def graph_redirect(request: HttpRequest, suite: TestSuite) -> HttpResponse | None:
    """LNT's ``graph?plot.N=<machine>.<test>.<field index>`` with LNT's ids translated
    through the id map, or None when nothing needs translating (the graph page reads
    LNT's parameter names itself, see ``perf.views.graph.graph_query``).

    Only ``plot.N`` and ``highlight_run`` carry ids; every other parameter
    (``moving_window_size``, ``mean``, ...) is passed on unchanged.  A plot whose
    machine or test nothing knows is dropped (the graph page says what it shows).
    """
    changed = False
    query: list[tuple[str, str]] = []
    for key, values in request.GET.lists():
        for value in values:
            if _LNT_PLOT_KEY.match(key) and (match := _LNT_PLOT.match(value)):
                machine_id, test_id, field = (int(g) for g in match.groups())
                local_machine = lnt_links.lnt_local_id(suite, "machine", machine_id)
                local_test = lnt_links.lnt_local_id(suite, "test", test_id)
                if local_machine is None or local_test is None:
                    changed = True
                    continue
                position = lnt_links.lnt_field_position(suite, field)
                local = f"{local_machine}.{local_test}.{position}"
                changed |= local != f"{machine_id}.{test_id}.{field}"
                query.append((key, local))
            elif key == "highlight_run" and value.isdigit():
                # A run nothing knows stays as given: the page just highlights nothing.
                local_run = lnt_links.lnt_local_id(suite, "run", int(value)) or int(value)
                changed |= local_run != int(value)
                query.append((key, str(local_run)))
            else:
                query.append((key, value))
    if not changed:
        return None
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

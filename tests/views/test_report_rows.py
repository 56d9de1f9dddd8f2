"""The run report's rows built in Python give the markup the template gave, byte for
byte, for every kind of row, escaped."""

from __future__ import annotations

import itertools
from pathlib import Path

from django.template import Context, Template
from django.utils.html import escape
from django.utils.safestring import mark_safe

from perf.analysis import verdict
from perf.selectors.runs import ReportRow
from perf.views.report_rows import RowLinks, report_rows_html

# The rows' markup as perf/templates/perf/run_report.html had it before the rows moved
# to perf/views/report_rows.py: the reference ({% url %} and {% csrf_token %} are
# given as variables there).
TEMPLATE_ROWS = (Path(__file__).parents[1] / "data" / "run_report_rows.html").read_text()[:-1]

VERDICTS = ["", *verdict.FLAGGED, verdict.SMALL, verdict.SAME_BINARY, verdict.FEW, verdict.NOISE]
GROUPS = ["regressions", "improvements", "unchanged", "added", "new_failures"]


def every_kind_of_row() -> list[ReportRow]:
    rows = []
    names = ['a<b>&"quoted"\'s', "suite/plain", "<script>alert(1)</script>"]
    for i, (kind, group, detected, regression, series, value) in enumerate(
        itertools.product(
            VERDICTS, GROUPS, ["", "detected", "suspect"], [None, 7], [None, 3], [None, 1.5]
        )
    ):
        rows.append(
            ReportRow(
                test_id=100 + i,
                test=names[i % len(names)],
                series_id=series,
                old=value,
                new=None if value is None else value * 1.1,
                delta=None if value is None else 10.0,
                group=group,
                verdict=kind,
                noise=None if value is None else 0.5,
                z=None if i % 2 else 4.2,
                history_runs=i % 4,
                detected=detected,
                regression_id=regression,
            )
        )
    return rows


class User:
    def __init__(self, logged_in: bool) -> None:
        self.is_authenticated = logged_in


def reference(rows: list[ReportRow], links: RowLinks, logged_in: bool) -> str:
    return Template(TEMPLATE_ROWS).render(
        Context(
            {
                "rows": rows,
                "s": {"plot_prefix": links.plot_prefix, "plot_suffix": links.plot_suffix},
                "regressions_url": links.regressions_url,
                "mode": "run",
                "user": User(logged_in),
                "action": "/db_default/v4/nts/regressions/from_point",
                "csrf": mark_safe(links.csrf_input),  # noqa: S308 - as {% csrf_token %} gives it
                "run": {"order_id": links.order_id},
            }
        )
    )


def test_every_kind_of_row_is_the_markup_the_template_gave_to_a_visitor():
    rows = every_kind_of_row()
    links = RowLinks("/db_default/v4/nts/graph?plot=4.", ".2&highlight=9", "/db/regressions")
    assert str(report_rows_html(rows, links)) == reference(rows, links, logged_in=False)


def test_every_kind_of_row_is_the_markup_the_template_gave_to_a_logged_in_user():
    rows = every_kind_of_row()
    csrf = '<input type="hidden" name="csrfmiddlewaretoken" value="tok&amp;en">'
    links = RowLinks(
        "/g?plot=4.",
        ".2&highlight=9",
        "/r",
        from_point_action="/db_default/v4/nts/regressions/from_point",
        csrf_input=csrf,
        order_id=12,
    )
    html = str(report_rows_html(rows, links))
    assert html == reference(rows, links, logged_in=True)
    assert html.count('class="inline from-point"') > 0


def test_names_are_escaped():
    row = every_kind_of_row()[2]
    html = str(report_rows_html([row], RowLinks("/g?a=1&b=", "", "/r")))
    assert "<script>alert" not in html and escape(row.test) in html
    assert 'href="/g?a=1&amp;b=' in html

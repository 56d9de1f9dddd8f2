"""The global status grid's rows built in Python give the markup the template gave,
byte for byte (empty cells, every heat, names and texts that need escaping)."""

from __future__ import annotations

from pathlib import Path

from django.template import Context, Template
from django.utils.html import escape

from perf.selectors.overview import heat_class
from perf.views.status_rows import status_rows_html

# The rows' markup as perf/templates/perf/overview/global_status.html had it before
# the rows moved to perf/views/status_rows.py: the reference.
TEMPLATE_ROWS = (Path(__file__).parents[1] / "data" / "global_status_rows.html").read_text()[:-1]
GRAPH = "/db_default/v4/nts/graph?plot="


def grid_rows() -> list[dict]:
    names = ['a<b>&"quoted"\'s', "suite/plain", "<script>alert(1)</script>"]
    rows = []
    for i in range(12):
        cells = []
        for k in range(5):
            if (i + k) % 4 == 0:
                cells.append(None)
                continue
            pct = (i - 6) * (k + 1) * 1.7
            cells.append(
                {
                    "key": f"{k}.{i}.2",
                    "pct": pct,
                    "text": f"{pct:+.2f}",
                    "title": f"{1.5:.4f} → {1.5 * (1 + pct / 100):.4f} <&>",
                    "heat": heat_class(pct),
                }
            )
        rows.append(
            {
                "test_id": i,
                "test": names[i % 3],
                "worst": i,
                "worst_text": f"{i:.2f}",
                "cells": cells,
            }
        )
    return rows


def reference(rows: list[dict], graph: str) -> str:
    body = Template(TEMPLATE_ROWS).render(Context({"grid": {"rows": rows}, "graph": graph}))
    return body


def test_every_kind_of_cell_is_the_markup_the_template_gave():
    rows = grid_rows()
    html = str(status_rows_html(rows, GRAPH))
    assert html == reference(rows, GRAPH)
    assert "heat bad-3" in html and "heat good-1" in html and 'class="num muted">—' in html


def test_names_titles_and_the_link_are_escaped():
    rows = grid_rows()
    html = str(status_rows_html(rows, "/g?a=1&plot="))
    assert html == reference(rows, "/g?a=1&plot=")
    assert "<script>alert" not in html and escape(rows[2]["test"]) in html
    assert 'href="/g?a=1&amp;plot=' in html

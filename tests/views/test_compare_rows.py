"""The compare page's rows built in Python give the markup the template gave, byte for
byte, for every kind of row (statuses, missing sides, zoomed out, floats with and
without exponents), escaped."""

from __future__ import annotations

import itertools
from pathlib import Path

from django.template import Context, Template
from django.utils.html import escape

from perf.analysis import sides
from perf.views.compare_rows import sides_rows_html

# The rows' markup as perf/templates/perf/compare_sides.html had it before the rows
# moved to perf/views/compare_rows.py: the reference.
TEMPLATE_ROWS = (Path(__file__).parents[1] / "data" / "compare_sides_rows.html").read_text()[:-1]


def _number(value: float | None, places: int) -> str:
    return "—" if value is None else f"{value:.{places}f}"


def cells(r: sides.Row) -> dict[str, str]:
    """The cells' texts as the view gave them to the template then."""
    return {
        "old": _number(r.old, 4),
        "new": _number(r.new, 4),
        "delta": _number(r.delta, 4),
        "delta_pct": _number(r.delta_pct, 2),
        "ratio": _number(r.ratio, 4),
        "p": _number(r.p_value, 3),
    }


def every_kind_of_row() -> list[tuple[sides.Row, bool]]:
    names = ['a<b>&"quoted"\'s', "suite/plain", "<script>alert(1)</script>"]
    values = [None, 1.5, 0.0, -2.25, 1e-05, 123456789.125, 3e20]
    rows = []
    for i, (status, old, new, p, visible) in enumerate(
        # A status the analysis never gives as well: its cells are not looked up.
        itertools.product(
            (*sides.STATUSES, '<odd "status">'), values, values[:4], [None, 0.0123], [True, False]
        )
    ):
        log2 = None if old is None or new is None else (new - (old or 0.0)) / 7.0
        row = sides.Row(
            test=names[i % len(names)],
            old=old,
            new=new,
            old_n=0 if old is None else 3,
            new_n=0 if new is None else 6,
            delta=None if log2 is None else log2 * 3,
            delta_pct=None if log2 is None else log2 * 100,
            ratio=None if log2 is None else 2**log2,
            log2_ratio=log2,
            p_value=p,
            status=status,
        )
        rows.append((row, visible))
    return rows


class User:
    def __init__(self, logged_in: bool) -> None:
        self.is_authenticated = logged_in


def reference(rows: list[tuple[sides.Row, bool]], logged_in: bool) -> str:
    return Template(TEMPLATE_ROWS).render(
        Context({"rows": [(r, cells(r), v) for r, v in rows], "user": User(logged_in)})
    )


def test_every_kind_of_row_is_the_markup_the_template_gave_to_a_visitor():
    rows = every_kind_of_row()
    html = str(sides_rows_html(rows, choose=False))
    assert html == reference(rows, logged_in=False)
    assert " hidden>" in html and 'data-log2="' in html


def test_every_kind_of_row_is_the_markup_the_template_gave_to_a_logged_in_user():
    rows = every_kind_of_row()
    html = str(sides_rows_html(rows, choose=True))
    assert html == reference(rows, logged_in=True)
    assert html.count('type="checkbox"') > 0


def test_names_are_escaped():
    rows = every_kind_of_row()[2:3]
    html = str(sides_rows_html(rows, choose=True))
    assert "<script>alert" not in html and escape(rows[0][0].test) in html

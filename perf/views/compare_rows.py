"""The rows of the two-sided compare page as HTML, built in Python.

The page lists every test of the sides (2,000 for a run of the scale dataset): through
the template language each row's twenty lookups, ``if`` chains, auto-escapes and the
localisation of three floats cost most of the page's time (``bench/pages_speed.py``,
"compare sides").  This writes the same markup, byte for byte, with ``html.escape``
(what Django's auto-escaping calls); the table's shape stays in
``perf/templates/perf/compare_sides.html``, which inserts the rows as one safe string.
As ``report_rows``, the run report's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from html import escape

from django.conf import settings
from django.utils.formats import get_format, localize
from django.utils.safestring import SafeString, mark_safe

from ..analysis.sides import IMPROVED, REGRESSED, STATUSES, Row

_STATUS_CLASS = {REGRESSED: "bad", IMPROVED: "good"}


def _float_text(separator: str) -> Callable[[float], str]:
    """What ``{{ value }}`` prints for a float: Django localises it (``localize``), which
    for a float without an exponent is its ``str`` with the locale's decimal separator
    (``django.utils.numberformat.format``); the rest (exponents, thousands separators
    when the site groups digits) goes through ``localize`` itself."""
    if settings.USE_THOUSAND_SEPARATOR:
        return lambda value: str(localize(value))

    def text(value: float) -> str:
        s = str(value)
        if "e" in s or "n" in s:  # 1e-05, inf, nan: Django's own way
            return str(localize(value))
        return s if separator == "." else s.replace(".", separator)

    return text


def _status_cells(status: str) -> tuple[str, str]:
    """A status as the row's ``data-status`` attribute and as its last cell."""
    text = escape(status)
    return text, f'<td class="{_STATUS_CLASS.get(status, "")}">{text}</td>'


_STATUS_CELLS = {s: _status_cells(s) for s in STATUSES}


def sides_rows_html(rows: Iterable[tuple[Row, bool]], *, choose: bool) -> SafeString:
    """The ``<tr>`` elements of ``rows`` ((row, shown by the zoom) pairs); ``choose``
    adds the column of check boxes that put rows in a regression (a logged-in user).
    Every text from the data is escaped.

    Its loop runs 2,000 times for a run of the scale dataset (``bench/pages_speed.py``,
    "compare sides"): the six numbers of a row ("—" for none) are formatted in line, not
    with the ``floatformat`` filter (2,000 rows x 6 numbers through Django's localised
    formatting were half of the page's time) nor a function call each; a known status's
    two texts are looked up; a row is one f-string."""
    number = _float_text(str(get_format("DECIMAL_SEPARATOR")))
    parts: list[str] = []
    append = parts.append
    for r, visible in rows:
        test = escape(r.test)
        status_attr, status_cell = _STATUS_CELLS.get(r.status) or _status_cells(r.status)
        old, new, delta, pct, ratio, p = r.old, r.new, r.delta, r.delta_pct, r.ratio, r.p_value
        attrs = "" if r.log2_ratio is None else f' data-log2="{number(r.log2_ratio)}"'
        if old is not None:
            attrs += f' data-old="{number(old)}"'
        if new is not None:
            attrs += f' data-new="{number(new)}"'
        if not visible:
            attrs += " hidden"
        old_n = f' <span class="muted small">n={r.old_n}</span>' if r.old_n else ""
        new_n = f' <span class="muted small">n={r.new_n}</span>' if r.new_n else ""
        pick = ""
        if choose:
            box = (
                f'<input type="checkbox" name="test" value="{test}" form="regress-form" '
                f'aria-label="choose {test}">'
                if new is not None
                else ""
            )
            pick = f'<td class="pick">{box}</td>'
        append(
            f'<tr data-status="{status_attr}"{attrs}>\n'
            f'<td>{test}</td><td class="num">{"—" if old is None else f"{old:.4f}"}{old_n}</td>'
            f'<td class="num">{"—" if new is None else f"{new:.4f}"}{new_n}</td>\n'
            f'<td class="num">{"—" if delta is None else f"{delta:.4f}"}</td>'
            f'<td class="num">{"—" if pct is None else f"{pct:.2f}"}</td>'
            f'<td class="num">{"—" if ratio is None else f"{ratio:.4f}"}</td>'
            f'<td class="num">{"—" if p is None else f"{p:.3f}"}</td>\n'
            f"{status_cell}{pick}</tr>"
        )
    return mark_safe("".join(parts))  # noqa: S308 - every value above is escaped or a number

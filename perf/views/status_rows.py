"""The rows of the global status grid as HTML, built in Python.

A page of the grid is 50 tests x every machine (1,050 cells for 21 machines), each
cell four lookups and auto-escapes through the template language: about half of the
page's time after its queries (``bench/pages_speed.py``, "global status").  This
writes the same markup, byte for byte, with ``html.escape`` (what Django's
auto-escaping calls); the table's shape stays in
``perf/templates/perf/overview/global_status.html``.  As ``report_rows``, the run
report's.
"""

from __future__ import annotations

from collections.abc import Iterable
from html import escape
from typing import Any

from django.utils.safestring import SafeString, mark_safe

_NONE = '<td class="num muted">—</td>'


def status_rows_html(rows: Iterable[dict[str, Any]], graph: str) -> SafeString:
    """The ``<tr>`` elements of the grid's ``rows`` (``selectors.overview.StatusGrid``'s:
    the display strings made there), each cell a link to ``graph`` + its plot key.
    Every text from the data is escaped."""
    prefix = escape(graph)
    parts = []
    for row in rows:
        cells = "".join(
            _NONE
            if c is None
            else f'<td class="num heat {escape(c["heat"])}"><a href="{prefix}'
            f'{escape(c["key"])}" title="{escape(c["title"])}">{escape(c["text"])}</a></td>'
            for c in row["cells"]
        )
        parts.append(
            f'<tr><th scope="row" class="test">{escape(row["test"])}</th>'
            f'<td class="num">{escape(row["worst_text"])}</td>{cells}</tr>\n'
        )
    return mark_safe("".join(parts))  # noqa: S308 - every value above is escaped

"""The rows of a run report's tables as HTML, built in Python.

A report shows up to 500 rows a group (200 unchanged): through the template language
each row's dozen lookups, ``if`` chains and auto-escapes cost about 0.1 ms, most of
the page's CPU (README "Load").  This writes the same markup with ``html.escape``
(what Django's auto-escaping calls) and no lookups: the table's shape stays in
``perf/templates/perf/run_report.html``, which inserts the rows as one safe string.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from html import escape

from django.utils.safestring import SafeString, mark_safe

from ..selectors.runs import ReportRow

_SUSPECT = "Suspect: seen on this run alone, not yet confirmed by the next runs"
_FOUND = "Found by change detection"


@dataclass(frozen=True)
class RowLinks:
    """What a section's rows link to, the same for every row."""

    plot_prefix: str  # a row's graph link: prefix + test id + suffix
    plot_suffix: str
    regressions_url: str  # + "/<id>": a detected row's regression
    # The "+ regression" form on significant rows (a run page seen by a logged-in
    # user): its action, the CSRF token's hidden input and the run's order; "" for none.
    from_point_action: str = ""
    csrf_input: str = ""
    order_id: int = 0


def _badge(row: ReportRow, links: RowLinks) -> str:
    if not row.detected:
        return ""
    kind = escape(row.detected)
    why = _SUSPECT if row.detected == "suspect" else _FOUND
    if row.regression_id:
        return (
            f' <a class="badge badge-{kind}" href="{escape(links.regressions_url)}/'
            f'{row.regression_id}" title="{why}; regression {row.regression_id}">{kind}</a>'
        )
    return f' <span class="badge badge-{kind}" title="{why}">{kind}</span>'


def _from_point(row: ReportRow, links: RowLinks) -> str:
    if not (links.from_point_action and row.significant and row.series_id):
        return ""
    if row.regression_id:
        return ""
    return (
        f' <form method="post" action="{escape(links.from_point_action)}" '
        f'class="inline from-point">{links.csrf_input}'
        f'<input type="hidden" name="series" value="{row.series_id}">'
        f'<input type="hidden" name="order" value="{links.order_id}">'
        '<button type="submit" class="link small" title="Make a regression of the step '
        "into this run's order on this series\">+ regression</button></form>"
    )


def _significance(row: ReportRow) -> str:
    verdict = row.verdict
    if row.significant:
        evidence = escape(row.evidence)
        if row.group == "regressions":
            cell = f'<span class="bad" title="{evidence}">✗ worse</span>'
        else:
            cell = f'<span class="good" title="{evidence}">✓ better</span>'
        if verdict == "changed":
            cell += f' <span class="muted" title="{evidence}">unconfirmed</span>'
        return cell
    label = _QUIET.get(verdict)
    if label is None:
        return ""
    prefix, text = label
    return f'<span class="muted" title="{prefix}{escape(row.evidence)}">{text}</span>'


# verdict -> (tooltip prefix, text) of a row that is not significant.
_QUIET = {
    "noise": ("within the noise: ", "~ noise"),
    "small": ("", "~"),
    "same_binary": ("", "~ same binary"),
    "few": ("", "? too little history"),
}


def report_rows_html(rows: Iterable[ReportRow], links: RowLinks) -> SafeString:
    """The ``<tr>`` elements of ``rows``: every text from the data is escaped."""
    prefix, suffix = escape(links.plot_prefix), escape(links.plot_suffix)
    parts = [
        f'<tr class="row-{escape(row.group)}">\n'
        f'<td class="test"><a href="{prefix}{row.test_id}{suffix}">{escape(row.test)}</a>'
        f"{_badge(row, links)}{_from_point(row, links)}</td>\n"
        f'<td class="num">{row.old_text}</td><td class="num">{row.new_text}</td>'
        f'<td class="num delta">{row.delta_text}</td><td class="num">{row.noise_text}</td>\n'
        f'<td class="sig">{_significance(row)}</td></tr>'
        for row in rows
    ]
    return mark_safe("".join(parts))  # noqa: S308 - every value above is escaped or a number

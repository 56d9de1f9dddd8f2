"""The machine page's table of runs, built in Python: one ``{% url %}`` and three
``|date`` filters a run cost about 0.1 ms in the template language, as much as the
rest of the page for a page of 50 runs (docs/performance.md "machine page vs LNT").
The output is the template's, byte for byte (tests/views/test_run_rows.py)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from html import escape

from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe
from django.utils.timezone import template_localtime

from ..selectors.runs import MachineRun

# An id no link is built for: reversed once, then replaced by each row's id.
_SENTINEL = 987654321987654321


def id_url(view_name: str, suite: str) -> tuple[str, str]:
    """(prefix, suffix) of the URL of ``view_name`` (arguments: suite, id) around the
    id: one ``reverse`` for a table of links instead of one a link."""
    prefix, _, suffix = reverse(view_name, args=[suite, _SENTINEL]).rpartition(str(_SENTINEL))
    return prefix, suffix


def _minutes(value: datetime) -> str:
    """``value|date:"Y-m-d H:i"`` in the current time zone."""
    value = template_localtime(value)
    return (
        f"{value.year:04d}-{value.month:02d}-{value.day:02d} {value.hour:02d}:{value.minute:02d}"
    )


def machine_runs_html(runs: Iterable[MachineRun], suite: str) -> SafeString:
    """The ``<tr>`` of each run: link, order, start and
    submission times, detection state; a "No runs." row for none.  Every text from
    the data is escaped."""
    run_prefix, run_suffix = (escape(part) for part in id_url("perf:run-detail", suite))
    order_prefix, order_suffix = (escape(part) for part in id_url("perf:order-detail", suite))
    parts = [
        f'<tr><td><a href="{run_prefix}{r.id}{run_suffix}">Run {r.id}</a></td>'
        f'<td><a href="{order_prefix}{r.order_id}{order_suffix}">{escape(r.order_label)}</a></td>\n'
        f'<td><time datetime="{template_localtime(r.start_time).isoformat()}">'
        f"{_minutes(r.start_time)}</time></td><td>{_minutes(r.submitted_at)}</td>"
        f"<td>{escape(r.detection_state)}</td></tr>\n"
        for r in runs
    ]
    if not parts:
        return mark_safe('<tr><td colspan="5" class="muted">No runs.</td></tr>')
    return mark_safe("".join(parts))  # noqa: S308 - every value above is escaped or a number

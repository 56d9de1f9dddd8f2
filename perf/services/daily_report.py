"""E-mail the daily report (by run date): plain text and HTML, with Django's send_mail.

Separate from ``notifications`` (new regressions, as they are found): this is a digest
of one or more days, sent on demand (``manage.py send_daily_report``, e.g. from cron).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string

from ..models import TestSuite
from ..selectors import overview


@dataclass(frozen=True)
class DailyReportMail:
    subject: str
    text: str
    html: str
    regressions: int
    improvements: int
    machines: int


def daily_report_render(
    suite: TestSuite, day: date, *, days: int = 1, site_url: str = ""
) -> DailyReportMail:
    """The report of the runs that ran in the ``days`` days ending with ``day``, as
    text and HTML; links are absolute under ``site_url`` (default PERF_SITE_URL)."""
    report = overview.daily_report(suite, day=day, days=days)
    context = {
        **report,
        "suite": suite,
        "site": (site_url or settings.PERF_SITE_URL).rstrip("/"),
    }
    span = day.isoformat() if days == 1 else f"{report['first_day']} to {day}"
    return DailyReportMail(
        subject=(
            f"[lntsite] {suite.name} daily report {span}: "
            f"{report['n_regressions']} regressions, {report['n_improvements']} improvements"
        ),
        text=render_to_string("perf/overview/daily_report.txt", context),
        html=render_to_string("perf/overview/daily_report_email.html", context),
        regressions=report["n_regressions"],
        improvements=report["n_improvements"],
        machines=len(report["machines"]),
    )


def daily_report_send(
    suite: TestSuite, day: date, recipients: list[str], *, days: int = 1, site_url: str = ""
) -> DailyReportMail:
    """Render the report and send it to ``recipients`` (one message, plain text with
    an HTML alternative).  Sending errors propagate: the caller reports them."""
    mail = daily_report_render(suite, day, days=days, site_url=site_url)
    send_mail(
        mail.subject,
        mail.text,
        settings.DEFAULT_FROM_EMAIL,
        recipients,
        html_message=mail.html,
        fail_silently=False,
    )
    return mail

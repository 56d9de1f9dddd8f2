"""manage.py send_daily_report: e-mail the daily report of a suite (by run date)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from perf import selectors
from perf.selectors.overview import latest_run_day
from perf.services.daily_report import daily_report_send


class Command(BaseCommand):
    help = (
        "E-mail the daily report of a suite: the runs that ran on a day (by run start "
        "time, not submission time) and the changes detected at them, as plain text "
        "and HTML."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--suite", default="nts", help="The suite (default: nts).")
        parser.add_argument(
            "--day",
            help="The day, YYYY-MM-DD (default: the day of the suite's newest run).",
        )
        parser.add_argument(
            "--days", type=int, default=1, help="Days ending with --day to cover (1-14)."
        )
        parser.add_argument(
            "--to",
            action="append",
            default=[],
            help="A recipient; repeat for several (default: PERF_NOTIFY_EMAILS).",
        )
        parser.add_argument(
            "--site-url", default="", help="Base of the links (default: PERF_SITE_URL)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        suite = selectors.suite_get(options["suite"])
        if suite is None:
            raise CommandError(f"no suite {options['suite']!r}")
        if not 1 <= options["days"] <= 14:
            raise CommandError("--days must be between 1 and 14")
        recipients = options["to"] or list(settings.PERF_NOTIFY_EMAILS)
        if not recipients:
            raise CommandError("no recipients: give --to or set PERF_NOTIFY_EMAILS")
        if options["day"]:
            try:
                day = date.fromisoformat(options["day"])
            except ValueError:
                raise CommandError(f"--day {options['day']!r} is not a YYYY-MM-DD date") from None
        else:
            day = latest_run_day(suite) or date.today() - timedelta(days=1)
        mail = daily_report_send(
            suite, day, recipients, days=options["days"], site_url=options["site_url"]
        )
        self.stdout.write(
            f"Sent {mail.subject!r} to {', '.join(recipients)} "
            f"({mail.machines} machines, {mail.regressions} regressions, "
            f"{mail.improvements} improvements)"
        )

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from tests.factories import make_field_change, report_doc, submit_doc

pytestmark = pytest.mark.django_db


def ran_on(day: str, revision: int, level: float, test: str = "suite/<t0>") -> None:
    doc = report_doc(
        revision=revision,
        tests={test: {"execution_time": [level, level, level]}},
        run={"start_time": f"{day}T03:00:00", "end_time": f"{day}T03:30:00"},
    )
    submit_doc(doc)


def test_it_mails_the_report_of_a_day_as_text_and_html(mailoutbox):
    ran_on("2026-01-11", 1000, 1.0)
    ran_on("2026-01-12", 1001, 1.5)
    make_field_change(test="suite/<t0>", at_revision=1001, relative_change=0.5)
    out = StringIO()
    call_command(
        "send_daily_report",
        "--day",
        "2026-01-12",
        "--to",
        "a@example.com",
        "--to",
        "b@example.com",
        "--site-url",
        "https://perf.example.com/",
        stdout=out,
    )
    (mail,) = mailoutbox
    assert mail.to == ["a@example.com", "b@example.com"]
    assert mail.subject == "[lntsite] nts daily report 2026-01-12: 1 regressions, 0 improvements"
    assert "REGRESSED +50.00%  suite/<t0> (Execution Time) at 1001: 1.0000 -> 1.5000" in mail.body
    html, kind = mail.alternatives[0]
    assert kind == "text/html"
    assert "suite/&lt;t0&gt;" in html and "suite/<t0>" not in html
    assert 'href="https://perf.example.com/db_default/v4/nts/graph?plot=' in html
    assert "1 machines, 1 regressions" in out.getvalue()


def test_the_day_defaults_to_the_newest_run_and_old_runs_do_not_fill_it(mailoutbox, settings):
    settings.PERF_NOTIFY_EMAILS = ["team@example.com"]
    ran_on("2026-01-12", 1001, 1.0)
    ran_on("2025-06-01", 900, 1.0)  # imported today, ran long ago
    call_command("send_daily_report", stdout=StringIO())
    (mail,) = mailoutbox
    assert mail.to == ["team@example.com"]
    assert "2026-01-12" in mail.subject
    assert "box-1: 1 run, last 2026-01-12 03:00" in mail.body


def test_mistakes_are_command_errors(settings):
    settings.PERF_NOTIFY_EMAILS = []
    with pytest.raises(CommandError, match="no recipients"):
        call_command("send_daily_report", stdout=StringIO())
    with pytest.raises(CommandError, match="no suite 'nope'"):
        call_command("send_daily_report", "--suite", "nope", "--to", "a@b.c")
    with pytest.raises(CommandError, match="is not a YYYY-MM-DD date"):
        call_command("send_daily_report", "--day", "yesterday", "--to", "a@b.c")

"""Tokens never reach a log line (lntsite/logredact.py)."""

import logging

import pytest

from lntsite.logredact import RedactTokens, redact

TOKEN = "lnt_Zx9-abcDEF_0123456789abcdefghijklmnopqrstu"


@pytest.mark.parametrize(
    "line",
    [
        f"Error handling request /db_default/v4/nts/submitRun?token={TOKEN}",
        f'10.0.0.1 "POST /submitRun?merge=replace&token={TOKEN}&x=1 HTTP/1.1" 200',
        f"{{'AuthToken': '{TOKEN}'}}",
        f"Authorization: Bearer {TOKEN}",
        f"token={TOKEN[4:]}",  # a mangled token after token= too
        f"the key {TOKEN} appeared somewhere",
    ],
)
def test_every_spelling_of_a_token_is_redacted(line):
    clean = redact(line)
    assert TOKEN not in clean and TOKEN[4:] not in clean
    assert "[redacted]" in clean


def test_the_rest_of_the_line_is_kept():
    line = f"POST /submitRun?merge=replace&token={TOKEN}&x=1 200"
    assert redact(line) == "POST /submitRun?merge=replace&token=[redacted]&x=1 200"


def test_the_filter_redacts_arguments_and_tracebacks():
    record = logging.LogRecord(
        "gunicorn.error", logging.ERROR, __file__, 1, "req %s", (f"?token={TOKEN}",), None
    )
    try:
        raise ValueError(f"bad {TOKEN}")
    except ValueError:
        import sys

        record.exc_info = sys.exc_info()
    assert RedactTokens().filter(record) is True
    assert TOKEN not in record.getMessage()
    assert TOKEN not in (record.exc_text or "")

"""Keep submission tokens out of every log line.

``lnt submit`` sends its token in the query string (``submitRun?token=lnt_...``), and
gunicorn's error log ("Error handling request /submitRun?token=..." on a worker
timeout), Django's and any third-party message can quote a URL.  ``RedactTokens`` is
a logging filter that rewrites the message of every record that passes the handler
it sits on; ``deploy/redact.py`` does the same to nginx's error log, whose format
cannot be changed.  Used by settings.LOGGING, deploy/gunicorn.conf.py and Celery.
"""

from __future__ import annotations

import logging
import re

# token=... in a query string or form body, an AuthToken/Authorization header value,
# and any bare lntsite token (perf.services.tokens.TOKEN_PREFIX + urlsafe base64).
_PATTERNS = (
    re.compile(r"(?i)(\btoken=)[^&\s\"'<>]+"),
    re.compile(
        r"(?i)(\b(?:authtoken|authorization)\b[\"']?\s*[:=]\s*[\"']?(?:bearer\s+)?)[^\s\"',}]+"
    ),
    re.compile(r"()\blnt_[A-Za-z0-9_\-]{8,}"),
)
REDACTED = "[redacted]"


def redact(text: str) -> str:
    """``text`` with every token value replaced by ``[redacted]``."""
    for pattern in _PATTERNS:
        text = pattern.sub(lambda m: m.group(1) + REDACTED, text)
    return text


class RedactTokens(logging.Filter):
    """Formats the record's message once, redacted; never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True

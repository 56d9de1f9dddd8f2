"""Copy standard input to a log file line by line, with submission tokens redacted.

nginx's error log quotes the request line ("request: \"POST /submitRun?token=...\"")
and its format cannot be changed, so deploy/prod.sh runs nginx with its error log on
stderr piped through this.  Usage: ``nginx ... 2>&1 | python deploy/redact.py FILE``.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lntsite.logredact import redact  # noqa: E402 - after the path is set


def main(path: str) -> None:
    with open(path, "a", encoding="utf-8", errors="replace") as out:
        for line in sys.stdin:
            out.write(redact(line))
            out.flush()


if __name__ == "__main__":
    main(sys.argv[1])

"""Sort keys for order (revision) values."""

from __future__ import annotations

import re

# An optional "r" (Subversion) or "v" (version tag) prefix, then digit groups of
# at most 18 digits (so each fits a signed 64-bit integer) joined by single
# ".", "-" or "_" separators.  A longer all-digit run is more likely a hash
# than a number, and has no meaningful numeric order anyway.
_NUMERIC_REVISION = re.compile(r"[rRvV]?([0-9]{1,18}(?:[._-][0-9]{1,18})*)", re.ASCII)
_SEPARATOR = re.compile(r"[._-]")


def revision_sort_key(value: str) -> tuple[int, ...] | None:
    """Return the integers of a numeric revision, or ``None`` for any other string.

    Like LNT's ``convert_revision`` for the revisions it was made for, but
    stricter: LNT pulls every digit run out of any string (so the git hash
    ``a1b2c3`` became ``(1, 2, 3)``); here the whole value must be numeric.

    - ``"501234"`` -> ``(501234,)``; ``"r1234"`` -> ``(1234,)``;
      ``"600.0.34.2"`` -> ``(600, 0, 34, 2)``; ``"v1.2-3"`` -> ``(1, 2, 3)``.
    - Surrounding whitespace is ignored; leading zeros are not significant
      (``"007"`` and ``"7"`` give the same key: the caller breaks ties).
    - Tuples compare element by element, so ``(1, 2)`` sorts before ``(1, 2, 0)``
      and ``(1, 10)`` after ``(1, 9)``.
    - ``None`` for git hashes (``"7c1e0f"``), tags like ``"llvmorg-17.0.1"``,
      the empty string, negative numbers, doubled separators (``"1..2"``), and
      digit groups longer than 18 digits.  The caller then orders by arrival.
      A short hash made only of digits cannot be told from a number.
    """
    match = _NUMERIC_REVISION.fullmatch(value.strip())
    if match is None:
        return None
    return tuple(int(group) for group in _SEPARATOR.split(match.group(1)))

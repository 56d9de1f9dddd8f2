"""Checks and conversions of single values: names, parameters, samples and times.

Each function either returns the typed value or raises ``FormatError`` with a
message naming the field (``where``) or the test and metric at fault.  Values
shown in messages go through ``quote``: ``repr()`` quoting, so control
characters are visible, cut to 80 characters.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from datetime import UTC, datetime

from perf.formats.types import FormatError

# Characters refused in machine names: machine names appear in URLs, file
# paths and HTML attributes.  Test names may contain them (``BM_vector<int>/8``).
MACHINE_NAME_FORBIDDEN = "<>\"'&/\\"

_TRUNCATE_AT = 80

# C0 controls, DEL and C1 controls (Unicode category Cc).
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")

# A decimal number as JSON or a C printf writes it; no "nan", "inf", "1_000"
# or non-ASCII digits (all of which Python's float() would accept).
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?", re.ASCII)
_NON_FINITE_WORDS = frozenset({"nan", "inf", "infinity"})

_SIMPLE_KEY = re.compile(r"[A-Za-z0-9_.\-]{1,80}", re.ASCII)

STATUS_HELP = "(0 PASS, 1 FAIL, 2 XFAIL)"
TIME_HELP = "(ISO-8601 or YYYY-MM-DD HH:MM:SS)"


def quote(value: object) -> str:
    """``repr(value)``, cut to about 80 characters with ``...`` appended when longer.

    Strings are cut before quoting, so the result is still a valid-looking
    quoted string followed by ``...``.
    """
    if isinstance(value, str) and len(value) > _TRUNCATE_AT:
        return repr(value[:_TRUNCATE_AT]) + "..."
    text = repr(value)
    if len(text) > _TRUNCATE_AT + 2:
        return text[:_TRUNCATE_AT] + "..."
    return text


def json_type(value: object) -> str:
    """The JSON name of a decoded value's type (``object``, ``array``, ``number``...)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | tuple):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def field_path(parent: str, key: str) -> str:
    """``parent.key`` for plain keys, ``parent['odd key']`` otherwise (for messages)."""
    if _SIMPLE_KEY.fullmatch(key):
        return f"{parent}.{key}"
    return f"{parent}[{quote(key)}]"


def is_id_key(key: str) -> bool:
    """True for ``id`` and ``*_id`` keys, which an exported run carries and imports ignore."""
    return key == "id" or key.endswith("_id")


def check_name(value: object, where: str, *, max_length: int, forbidden: str = "") -> str:
    """Return ``value`` if it is a usable machine or test name.

    Refused: null/absent ("is required"), non-strings, the empty string, more
    than ``max_length`` characters, leading or trailing whitespace, control
    characters (C0, DEL, C1), and any character of ``forbidden``.
    """
    if value is None:
        raise FormatError(f"{where} is required")
    if not isinstance(value, str):
        raise FormatError(f"{where} must be a string, not {json_type(value)}")
    if value == "":
        raise FormatError(f"{where} must not be empty")
    if len(value) > max_length:
        raise FormatError(f"{where} is {len(value)} characters long (limit {max_length})")
    if value != value.strip():
        raise FormatError(f"{where} {quote(value)} has leading or trailing whitespace")
    control = _CONTROL.search(value)
    if control is not None:
        raise FormatError(
            f"{where} {quote(value)} contains a control character ({control.group()!r})"
        )
    for char in forbidden:
        if char in value:
            raise FormatError(
                f"{where} {quote(value)} contains {char!r}, which is not allowed in "
                f"machine names (refused: {' '.join(forbidden)})"
            )
    return value


def check_key(key: str, where: str, *, max_length: int) -> None:
    """Refuse an empty, over-long or control-character parameter key of object ``where``."""
    if key == "":
        raise FormatError(f"{where} has an empty key")
    if len(key) > max_length:
        raise FormatError(
            f"{where} has a key {len(key)} characters long (limit {max_length})"
        )
    if _CONTROL.search(key) is not None:
        raise FormatError(f"{where} key {quote(key)} contains a control character")


def parameter_value(value: object, where: str, *, max_length: int) -> str | None:
    """Convert a machine/run value to the string stored for it; ``None`` for JSON null.

    Strings are kept as they are (newlines allowed: compiler version banners
    have them).  Integers and finite floats become ``str(value)``; booleans
    become ``"True"``/``"False"``, the spelling LNT's v1 client writes.
    Arrays and objects are refused, as are strings longer than ``max_length``.
    """
    if value is None:
        return None
    if isinstance(value, bool):
        text = "True" if value else "False"
    elif isinstance(value, int):
        text = str(value)
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise FormatError(f"{where} is not a finite number")
        text = repr(value)
    elif isinstance(value, str):
        text = value
    else:
        raise FormatError(f"{where} must be a string or a number, not {json_type(value)}")
    if len(text) > max_length:
        raise FormatError(f"{where} is {len(text)} characters long (limit {max_length})")
    return text


def order_value(value: object, where: str, *, suite: str, max_length: int) -> str:
    """The revision string of an order field: a non-empty string or an integer.

    Surrounding whitespace is stripped (``git rev-parse`` output often keeps
    its newline; "501234\\n" and "501234" must be one order).  Floats are
    refused: ``1.10`` would silently become ``1.1``.
    """
    if value is None:
        raise FormatError(f"{where} is required (order field of suite {quote(suite)})")
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise FormatError(f"{where} must be a string or an integer, not {json_type(value)}")
    text = str(value).strip()
    if text == "":
        raise FormatError(f"{where} must not be empty (order field of suite {quote(suite)})")
    if len(text) > max_length:
        raise FormatError(f"{where} is {len(text)} characters long (limit {max_length})")
    if _CONTROL.search(text) is not None:
        raise FormatError(f"{where} {quote(text)} contains a control character")
    return text


def parse_time(value: object, where: str) -> datetime | None:
    """Parse ``start_time``/``end_time``; ``None`` when absent (JSON null).

    Accepts what ``datetime.fromisoformat`` accepts (ISO-8601, with ``T`` or a
    space, any number of fractional digits, optional offset or ``Z``).  An
    aware time is converted to naive UTC; a naive one is taken to be UTC
    already.  Numbers (epoch seconds) and empty strings are refused.
    """
    if value is None:
        return None
    if not isinstance(value, str):
        raise FormatError(f"{where} must be a date and time string {TIME_HELP}, "
                          f"not {json_type(value)}")
    try:
        parsed = datetime.fromisoformat(value.strip())
        if parsed.tzinfo is not None:
            parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    except (ValueError, OverflowError):
        raise FormatError(f"{where} {quote(value)} is not a date and time {TIME_HELP}") from None
    return parsed


def _sample_prefix(test: str, metric: str, value: object) -> str:
    return f"test {quote(test)}: {metric} value {quote(value)}"


# No benchmark measures 1e30 of anything; beyond it sums and variances of samples
# would overflow a float, so such values are refused as absurd.
MAX_ABS_SAMPLE = 1e30


def real_sample(value: object, test: str, metric: str) -> float:
    """A Real sample: a JSON number or a decimal string (``"1.3"``, as LNT exports).

    Refused: booleans, NaN and infinities (also as strings ``"nan"``/``"inf"``
    and as overflowing literals like ``1e400``), magnitudes over ``MAX_ABS_SAMPLE``,
    anything else.
    """
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise FormatError(f"{_sample_prefix(test, metric, value)} is not a number")
    if isinstance(value, str):
        text = value.strip()
        if _DECIMAL.fullmatch(text) is None:
            if text.lower().lstrip("+-") in _NON_FINITE_WORDS:
                raise FormatError(f"{_sample_prefix(test, metric, value)} is not a finite number")
            raise FormatError(f"{_sample_prefix(test, metric, value)} is not a number")
        number = float(text)
    else:
        try:
            number = float(value)
        except OverflowError:  # an integer beyond the float range
            raise FormatError(
                f"{_sample_prefix(test, metric, value)} is not a finite number"
            ) from None
    if not math.isfinite(number):
        raise FormatError(f"{_sample_prefix(test, metric, value)} is not a finite number")
    if abs(number) > MAX_ABS_SAMPLE:
        raise FormatError(
            f"{_sample_prefix(test, metric, value)} is out of range "
            f"(a measurement must be within +-{MAX_ABS_SAMPLE:g})"
        )
    return number


def status_sample(value: object, test: str, metric: str) -> int:
    """A Status sample: 0 (PASS), 1 (FAIL) or 2 (XFAIL).

    Integral floats (``1.0``, which v1 reports carry) and numeric strings
    (``"0"``, as LNT exports) are accepted; booleans are not.
    """
    problem = f"{_sample_prefix(test, metric, value)} is not a status {STATUS_HELP}"
    if isinstance(value, bool):
        raise FormatError(problem)
    if isinstance(value, int):
        if value in (0, 1, 2):
            return value
        raise FormatError(problem)
    if isinstance(value, float):
        number = value
    elif isinstance(value, str) and _DECIMAL.fullmatch(value.strip()) is not None:
        number = float(value.strip())
    else:
        raise FormatError(problem)
    if number in (0.0, 1.0, 2.0):
        return int(number)
    raise FormatError(problem)


def hash_sample(value: object, test: str, metric: str, *, max_length: int) -> str:
    """A Hash sample: a string of at most ``max_length`` characters."""
    if not isinstance(value, str):
        raise FormatError(f"{_sample_prefix(test, metric, value)} is not a string")
    if len(value) > max_length:
        raise FormatError(
            f"test {quote(test)}: {metric} value is {len(value)} characters long "
            f"(limit {max_length})"
        )
    return value


def profile_payload(value: object, test: str) -> bytes:
    """A test's ``profile``: one base64 string (a one-item list, as v1 ``Data`` holds
    it, is accepted) -> the decoded bytes.  Refused: another type, several items,
    text that is not base64, an empty payload."""
    if isinstance(value, list):
        if len(value) != 1:
            raise FormatError(
                f"test {quote(test)}: profile must be one base64 string, not a list of "
                f"{len(value)}"
            )
        value = value[0]
    if not isinstance(value, str):
        raise FormatError(
            f"test {quote(test)}: profile must be a base64 string, not {json_type(value)}"
        )
    try:
        data = base64.b64decode(value.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        raise FormatError(f"test {quote(test)}: profile is not valid base64") from None
    if not data:
        raise FormatError(f"test {quote(test)}: profile is empty")
    return data

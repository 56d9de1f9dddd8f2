"""Command line: ``python -m perf.analysis [--bigger-is-better] < series.json``.

Reads ONE series from standard input -- a JSON list whose items are a number (one
sample), a list of numbers (several samples) or null (unknown order) -- and prints the JSON
list of change indices, e.g. ``[42, 107]``. Bad input: a message on stderr, exit code 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from perf.analysis.changepoints import SeriesItem, find_change_points


class InputError(ValueError):
    """The standard input is not a series."""


def parse_series(text: str) -> list[SeriesItem]:
    """Parse and validate a series; raise ``InputError`` with a stable message."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise InputError(f"input is not valid JSON: {error.msg} (line {error.lineno})") from None
    if not isinstance(data, list):
        raise InputError("input must be a JSON list of numbers, lists of numbers or null")
    series: list[SeriesItem] = []
    for position, item in enumerate(data):
        if item is None or _is_number(item):
            series.append(item)
        elif isinstance(item, list) and all(_is_number(sample) for sample in item):
            series.append([float(sample) for sample in item])
        else:
            raise InputError(
                f"item {position} must be a number, a list of numbers or null, "
                f"not {json.dumps(item)[:60]}"
            )
    return series


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    parser = argparse.ArgumentParser(
        prog="python -m perf.analysis",
        description="Print the indices of the changes in one series read from stdin.",
    )
    parser.add_argument(
        "--bigger-is-better",
        action="store_true",
        help="the metric improves upwards (does not change which indices are printed)",
    )
    arguments = parser.parse_args(argv)
    try:
        series = parse_series(sys.stdin.read())
    except InputError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    points = find_change_points(series, bigger_is_better=arguments.bigger_is_better)
    print(json.dumps([point.index for point in points]))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Size limits a report must respect (one place, so the HTTP layer can show them)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    """Upper bounds on a single report; exceeding one is a FormatError naming it.

    ``max_tests``: tests in one report (after merging v1 entries).
    ``max_samples_per_value``: samples in one test's list for one metric.
    ``max_name_length``: characters in a test name, a machine name, an order
    value or a parameter key.
    ``max_string_length``: characters in a parameter value or a hash sample.
    ``max_parameters``: keys in the machine object, and separately in the run object.
    """

    max_tests: int = 100_000
    max_samples_per_value: int = 10_000
    max_name_length: int = 512
    max_string_length: int = 65_536
    max_parameters: int = 1000


DEFAULT_LIMITS = Limits()

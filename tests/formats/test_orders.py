"""revision_sort_key: numeric revisions get integer tuples, anything else None."""

from __future__ import annotations

import pytest

from perf.formats import revision_sort_key


@pytest.mark.parametrize(
    ("revision", "key"),
    [
        ("501234", (501234,)),
        ("0", (0,)),
        ("007", (7,)),
        ("r1234", (1234,)),
        ("R1234", (1234,)),
        ("v17", (17,)),
        ("1.2.3", (1, 2, 3)),
        ("600.0.34.2", (600, 0, 34, 2)),
        ("v1.2-3_4", (1, 2, 3, 4)),
        (" 154331\n", (154331,)),
        ("9" * 18, (int("9" * 18),)),
        ("1.10", (1, 10)),
    ],
)
def test_numeric_revisions_give_their_integers(revision: str, key: tuple[int, ...]) -> None:
    assert revision_sort_key(revision) == key


@pytest.mark.parametrize(
    "revision",
    [
        "",
        "   ",
        "7c1e0f",
        "a1b2c3",
        "0123456789abcdef0123456789abcdef01234567",
        "1" * 19,  # too long to be a revision number: more likely a hash
        "llvmorg-17.0.1",
        "r",
        "rr12",
        "-5",
        "1..2",
        "1.",
        ".1",
        "1 2",
        "1.2-rc1",
        "١٢٣",  # non-ASCII digits
        "12+3",
    ],
)
def test_other_revisions_have_no_numeric_key(revision: str) -> None:
    assert revision_sort_key(revision) is None


def test_keys_sort_revisions_numerically_not_as_text() -> None:
    revisions = ["10", "9", "r100", "1.10", "1.9", "1.9.1"]
    ordered = sorted(revisions, key=lambda r: revision_sort_key(r) or ())
    assert ordered == ["1.9", "1.9.1", "1.10", "9", "10", "r100"]

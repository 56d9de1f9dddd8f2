"""Comparing two sides test by test: deltas, ratios, the noise knobs, geometric mean."""

from __future__ import annotations

import dataclasses
import math

import pytest

from perf.analysis.sides import Knobs, Row, compare_row, compare_sides, geomean, status_counts


def test_a_slower_test_regresses_when_it_passes_every_knob():
    row = compare_row("t", [1.0, 1.01, 0.99, 1.0], [1.2, 1.21, 1.19, 1.2], Knobs())
    assert row.delta == pytest.approx(0.2)
    assert row.delta_pct == pytest.approx(20.0)
    assert row.ratio == pytest.approx(1.2)
    assert row.log2_ratio == pytest.approx(math.log2(1.2))
    assert row.p_value is not None and row.p_value <= 0.1
    assert row.status == "regressed"


def test_bigger_is_better_turns_the_same_move_into_an_improvement():
    row = compare_row(
        "t", [1.0, 1.01, 0.99, 1.0], [1.2, 1.21, 1.19, 1.2], Knobs(bigger_is_better=True)
    )
    assert row.status == "improved"


@pytest.mark.parametrize(
    "knobs",
    [Knobs(min_delta_pct=25.0), Knobs(abs_floor=0.5), Knobs(max_p=0.01)],
    ids=["min delta %", "absolute floor", "p-value"],
)
def test_each_noise_knob_can_hold_a_move_back(knobs):
    assert (
        compare_row("t", [1.0, 1.01, 0.99, 1.0], [1.2, 1.21, 1.19, 1.2], knobs).status
        == "unchanged"
    )


def test_overlapping_samples_are_noise_whatever_the_medians():
    row = compare_row("t", [1.0, 1.5, 0.9, 1.2], [1.1, 0.95, 1.45, 1.25], Knobs())
    assert row.p_value is not None and row.p_value > 0.05
    assert row.status == "unchanged"


def test_single_samples_have_no_p_value_and_are_judged_by_the_thresholds():
    row = compare_row("t", [2.0], [2.1], Knobs())
    assert row.p_value is None and row.status == "regressed"
    assert compare_row("t", [2.0], [2.01], Knobs()).status == "unchanged"


def test_a_zero_old_value_has_no_ratio_and_only_the_floor_judges_it():
    row = compare_row("t", [0.0], [0.5], Knobs(abs_floor=0.1))
    assert (row.delta_pct, row.ratio, row.log2_ratio) == (None, None, None)
    assert row.status == "regressed"


def test_tests_on_one_side_only_are_added_or_removed_and_junk_is_ignored():
    rows = compare_sides(
        {"gone": [1.0], "both": [1.0]}, {"new": [1.0], "both": [1.0, float("nan")]}, Knobs()
    )
    assert [(r.test, r.status) for r in rows] == [
        ("both", "unchanged"),
        ("gone", "removed"),
        ("new", "added"),
    ]
    assert rows[0].new_n == 1
    assert status_counts(rows) == {
        "regressed": 0,
        "improved": 0,
        "unchanged": 1,
        "added": 1,
        "removed": 1,
    }


def test_the_geometric_mean_uses_tests_positive_on_both_sides():
    rows = compare_sides(
        {"a": [1.0], "b": [4.0], "z": [0.0]}, {"a": [2.0], "b": [8.0], "z": [1.0]}, Knobs()
    )
    geo = geomean(rows)
    assert geo.tests == 2
    assert geo.old == pytest.approx(2.0) and geo.new == pytest.approx(4.0)
    assert geo.ratio == pytest.approx(2.0) and geo.delta_pct == pytest.approx(100.0)
    assert geo.log2_ratio == pytest.approx(1.0)
    assert geomean([]).ratio is None


def test_a_row_is_still_a_frozen_dataclass_with_every_field_set():
    # Row writes its fields itself (the generated frozen ``__init__`` was a third of
    # compare_sides): it must still behave as the dataclass it declares.
    fields = dict(
        test="t", old=1.0, new=2.0, old_n=3, new_n=4, delta=1.0, delta_pct=100.0,
        ratio=2.0, log2_ratio=1.0, p_value=None, status="regressed",
    )  # fmt: skip
    row = Row(*fields.values())
    assert dataclasses.asdict(row) == fields == vars(row) == dataclasses.asdict(Row(**fields))
    assert row == Row(**fields) and hash(row) == hash(Row(**fields))
    assert row != dataclasses.replace(row, status="unchanged")
    with pytest.raises(dataclasses.FrozenInstanceError):
        row.status = "improved"  # type: ignore[misc]
    assert compare_row("t", [1.0], [2.0], Knobs()) == Row(
        "t", 1.0, 2.0, 1, 1, 1.0, 100.0, 2.0, 1.0, None, "regressed"
    )


def test_a_sides_rank_tests_give_each_test_the_p_value_of_a_call_of_its_own():
    # The p-values are computed a group of tests at a time (same sizes, same tie
    # status): each must be bit for bit what scipy gives the test alone, with "auto".
    import random

    from scipy import stats

    rng = random.Random(3)
    old: dict[str, list[float]] = {}
    new: dict[str, list[float]] = {}
    for i in range(400):
        step = rng.choice([None, 0.01, 0.1])  # rounded to a step: ties

        def sample(level: float, step: float | None = step) -> float:
            value = rng.gauss(level, 0.05)
            return round(value / step) * step if step else value

        old[f"t{i}"] = [sample(1.0) for _ in range(rng.choice([3, 4, 5, 6, 9, 12]))]
        new[f"t{i}"] = [sample(1.02) for _ in range(rng.choice([4, 6, 9, 11]))]
    old["same"], new["same"] = [2.0] * 5, [2.0] * 4
    rows = {r.test: r for r in compare_sides(old, new, Knobs())}
    for name, row in rows.items():
        if len(old[name]) < 4 or name == "same":
            continue
        alone = float(stats.mannwhitneyu(old[name], new[name], alternative="two-sided").pvalue)
        assert repr(row.p_value) == repr(alone), name
    assert rows["same"].p_value == 1.0
    assert {len(old[n]) < 4 for n in rows} == {True, False}  # rows with and without
    assert sum(rows[n].p_value is not None for n in rows) > 300


@pytest.mark.parametrize(
    ("seed", "junk"),
    [
        (1, []),
        (2, [float("nan"), float("inf"), -float("inf")]),
        (3, [float("nan"), float("inf"), -float("inf"), None, "1.5", 2, True]),
    ],
    ids=["floats", "non-finite floats", "any junk"],
)
def test_the_sides_medians_taken_by_groups_are_each_rows_own(seed, junk):
    # compare_sides takes the medians of the tests with as many samples at once; each
    # row must be, repr for repr, the one compare_row gives the test alone: odd and
    # even counts, ties, -0.0 beside 0.0 (their order decides the median's sign), and
    # groups that hold junk (NaN, infinities, None, text, ints, bools) or only ints.
    import random

    rng = random.Random(seed)

    def side() -> list:
        count = rng.choice([0, 1, 2, 3, 3, 3, 4, 5, 6])
        kind = rng.random()
        if kind < 0.05:
            return [rng.randint(-3, 3) for _ in range(count)]
        values = [rng.choice([0.0, -0.0, 1.0, rng.gauss(1.0, 0.1)]) for _ in range(count)]
        if kind < 0.2 and values and junk:
            values[rng.randrange(len(values))] = rng.choice(junk)
        return values

    old = {f"t{i}": side() for i in range(600) if rng.random() < 0.9}
    new = {f"t{i}": side() for i in range(600) if rng.random() < 0.9}
    knobs = Knobs(min_delta_pct=0.5, abs_floor=0.0)
    rows = compare_sides(old, new, knobs)
    assert [r.test for r in rows] == sorted(set(old) | set(new))
    for row in rows:
        alone = compare_row(row.test, old.get(row.test, []), new.get(row.test, []), knobs)
        assert repr(row) == repr(alone), row.test
    signs = {repr(r.old) for r in rows} | {repr(r.new) for r in rows}
    assert {"0.0", "-0.0", "None"} <= signs  # the cases are there

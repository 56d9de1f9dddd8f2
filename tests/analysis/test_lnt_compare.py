"""LNT's two-run verdicts (what `lnt submit -v` prints), on plain numbers."""

import random
import tracemalloc

import pytest

from perf.analysis.lnt_compare import (
    IMPROVED,
    REGRESSED,
    UNCHANGED_FAIL,
    UNCHANGED_PASS,
    ColumnsBuilder,
    MetricRule,
    Side,
    column_run_over_run,
    iter_test_sides,
    pass_fail_status,
    performance_status,
    run_over_run,
)


@pytest.mark.parametrize(
    ("now_failed", "before_failed", "expected"),
    [
        (False, False, UNCHANGED_PASS),
        (True, False, REGRESSED),
        (False, True, IMPROVED),
        (True, True, UNCHANGED_FAIL),
    ],
)
def test_the_test_status_follows_the_pass_fail_transition(now_failed, before_failed, expected):
    assert pass_fail_status(Side(failed=now_failed), Side(failed=before_failed)) == expected


@pytest.mark.parametrize(
    ("now", "before", "bigger_is_better", "expected"),
    [
        ([10.0], [1.0], False, REGRESSED),  # slower
        ([1.0], [10.0], False, IMPROVED),  # faster
        ([10.0], [1.0], True, IMPROVED),  # a higher score
        ([1.003], [1.0], False, UNCHANGED_PASS),  # under 1 %
        ([100.5], [100.0], False, UNCHANGED_PASS),  # 0.5 %
        ([1.02], [1.0], False, REGRESSED),  # 2 %, one sample
    ],
)
def test_one_sample_changes_count_from_one_percent(now, before, bigger_is_better, expected):
    assert (
        performance_status(Side(now), Side(before), bigger_is_better=bigger_is_better) == expected
    )


def test_an_added_or_removed_test_has_no_value_status():
    assert performance_status(Side([1.0]), Side()) is None
    assert performance_status(Side(), Side([1.0])) is None


def test_the_current_value_is_the_minimum_and_the_previous_the_closest_sample():
    # min(now) = 1.0 equals a previous sample: no change, despite the other samples.
    assert performance_status(Side([1.0, 5.0]), Side([9.0, 1.0])) == UNCHANGED_PASS


def test_noisy_samples_hide_a_change_within_their_spread():
    # min 1.1 vs 1.0 is 10 %, but the samples spread far more than that.
    assert performance_status(Side([1.1, 3.0, 5.0]), Side([1.0])) == UNCHANGED_PASS
    assert performance_status(Side([2.0, 2.01, 2.02]), Side([1.0])) == REGRESSED


def test_the_rank_test_keeps_overlapping_samples_unchanged():
    now = [1.0, 1.5, 2.0, 2.5]
    before = [0.9, 1.4, 2.1, 2.6]
    assert performance_status(Side(now), Side(before)) == UNCHANGED_PASS


def test_a_failing_or_just_fixed_test_has_no_performance_change():
    assert performance_status(Side([10.0], failed=True), Side([1.0])) == UNCHANGED_FAIL
    assert performance_status(Side([10.0]), Side([1.0], failed=True)) == UNCHANGED_PASS


def test_the_same_binary_hash_hides_a_change_only_for_hash_sensitive_metrics():
    now, before = Side([2.0], hash="abc"), Side([1.0], hash="abc")
    assert performance_status(now, before, ignore_same_hash=True) == UNCHANGED_PASS
    assert performance_status(now, before, ignore_same_hash=False) == REGRESSED
    other = Side([1.0], hash="def")
    assert performance_status(now, other, ignore_same_hash=True) == REGRESSED


def test_run_over_run_lists_every_test_and_metric_grouped_as_lnt_does():
    metrics = [MetricRule("compile_time"), MetricRule("execution_time")]
    tests = ["a", "b", "c"]
    current = {
        ("a", "execution_time"): Side([10.0]),
        ("b", "execution_time"): Side([1.0]),
        ("c", "execution_time"): Side([2.0], failed=True),
        ("a", "compile_time"): Side([1.0]),
    }
    previous = {
        ("a", "execution_time"): Side([1.0]),
        ("b", "execution_time"): Side([1.0]),
        ("c", "execution_time"): Side([2.0]),
    }
    assert run_over_run(metrics, tests, current, previous) == [
        ("a.compile_time", UNCHANGED_PASS, None),  # added: no previous value
        ("b.compile_time", UNCHANGED_PASS, None),
        ("c.compile_time", UNCHANGED_PASS, None),
        ("c.execution_time", REGRESSED, UNCHANGED_FAIL),  # new failure first
        ("a.execution_time", UNCHANGED_PASS, REGRESSED),
        ("b.execution_time", UNCHANGED_PASS, UNCHANGED_PASS),
    ]


def test_without_a_previous_run_every_test_is_added():
    rows = run_over_run([MetricRule("t")], ["x"], {("x", "t"): Side([1.0])}, {})
    assert rows == [("x.t", UNCHANGED_PASS, None)]


def test_the_verdicts_of_a_big_run_are_kept_in_a_few_bytes_each():
    # 20,000 tests x 5 metrics: 100,000 rows, whose verdicts are all known before the
    # first is yielded.  Each is kept as one 8-byte integer (a row as a tuple with its
    # name would take ~150 bytes); the Sides are asked for a test at a time, not kept.
    metrics = [MetricRule(f"m{k}") for k in range(5)]
    tests = [f"test_{i:06d}" for i in range(20_000)]

    def sides(test: str):
        number = int(test[5:])
        now = {"m0": Side([1.0 + number % 3]), "m1": Side([2.0], failed=number % 7 == 0)}
        return now, {"m0": Side([1.0]), "m2": Side([3.0])}

    tracemalloc.start()
    try:
        rows = iter_test_sides(metrics, tests, sides)
        first = next(rows)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert first == ("test_000001.m0", UNCHANGED_PASS, REGRESSED)  # regressions first
    assert sum(1 for _ in rows) == 5 * len(tests) - 1
    assert peak < 12 * 5 * len(tests), peak  # bytes


def random_side(rng: random.Random) -> Side | None:
    """A Side that exercises every rule: no value, zero, ties, failures, hashes,
    one sample and several (4 or more: the rank test), near-equal values."""
    if rng.random() < 0.15:
        return None
    count = rng.choice([0, 1, 1, 1, 2, 3, 4, 5])
    base = rng.choice([0.0, 0.004, 1.0, 2.5, 100.0, rng.uniform(0.001, 10)])
    samples = tuple(
        rng.choice([base, base * 1.005, base * 1.5, base + 0.02, rng.uniform(0, 2 * base + 1)])
        for _ in range(count)
    )
    return Side(samples, rng.random() < 0.1, rng.choice([None, "", "aa", "bb"]))


@pytest.mark.parametrize("seed", range(6))
def test_the_verdicts_over_columns_are_the_row_by_row_ones(seed):
    rng = random.Random(seed)
    metrics = [
        MetricRule("time"),
        MetricRule("score", bigger_is_better=True),
        MetricRule("exec", ignore_same_hash=True),
    ]
    tests = [f"t{i:04d}" for i in range(1500)]
    current: dict[tuple[str, str], Side] = {}
    previous: dict[tuple[str, str], Side] = {}
    for test in tests:
        for metric in metrics:
            for sides in (current, previous):
                side = random_side(rng)
                if side is not None:
                    sides[(test, metric.name)] = side
    codes: dict[str, int] = {}
    index = {test: i for i, test in enumerate(tests)}
    columns = []
    for metric in metrics:
        pair = []
        for sides in (current, previous):
            rows = [
                (test, side.samples, side.failed, side.hash)
                for test in tests
                if (side := sides.get((test, metric.name))) is not None
            ]
            builder = ColumnsBuilder()
            builder.extend(rows[:500])  # in batches, as the selector does
            builder.extend(rows[500:])
            pair.append(builder.build(index, codes if metric.ignore_same_hash else None))
        columns.append(tuple(pair))
    expected = run_over_run(metrics, tests, current, previous)
    verdicts = column_run_over_run(metrics, tests, columns, codes)
    assert list(verdicts) == expected
    assert len(verdicts) == len(expected)
    assert {perf for _, _, perf in expected} >= {REGRESSED, IMPROVED, UNCHANGED_FAIL, None}

"""A change on the newest run alone is a suspect only with several samples."""

import random

from perf.analysis import find_change_points, find_suspect


def noisy(level: float, rng: random.Random, n: int = 3, noise: float = 0.01) -> list[float]:
    return [level * rng.gauss(1.0, noise) for _ in range(n)]


def test_a_10_percent_step_on_the_newest_run_with_3_samples_is_a_suspect():
    rng = random.Random(1)
    series = [noisy(1.0, rng) for _ in range(30)] + [noisy(1.1, rng)]
    assert find_change_points(series) == []  # one run is not enough to be sure
    suspect = find_suspect(series)
    assert suspect is not None
    assert suspect.index == 30
    assert suspect.is_regression
    assert suspect.method.endswith("/suspect")


def test_a_single_sample_run_is_never_a_suspect():
    rng = random.Random(2)
    series = [noisy(1.0, rng, n=1)[0] for _ in range(30)] + [1.5]
    assert find_suspect(series) is None


def test_a_normal_newest_run_is_not_a_suspect():
    rng = random.Random(3)
    series = [noisy(1.0, rng) for _ in range(31)]
    assert find_suspect(series) is None


def test_only_the_newest_known_order_can_be_a_suspect():
    rng = random.Random(4)
    series = [noisy(1.0, rng) for _ in range(30)] + [noisy(1.1, rng), None]
    suspect = find_suspect(series)
    assert suspect is not None and suspect.index == 30


def test_an_empty_or_unknown_series_has_no_suspect():
    assert find_suspect([]) is None
    assert find_suspect([None, None]) is None


def test_the_suspect_respects_bigger_is_better():
    rng = random.Random(5)
    series = [noisy(100.0, rng) for _ in range(30)] + [noisy(110.0, rng)]
    suspect = find_suspect(series, bigger_is_better=True)
    assert suspect is not None and not suspect.is_regression


def test_clean_histories_rarely_make_a_suspect():
    rng = random.Random(6)
    alarms = sum(
        find_suspect([noisy(1.0, rng) for _ in range(31)]) is not None for _ in range(1000)
    )
    assert alarms <= 1  # at most one clean newest run in 1,000


def test_the_suspect_needs_only_the_last_window_of_history():
    from dataclasses import replace

    from perf.analysis import DetectionParams

    rng = random.Random(7)
    params = DetectionParams()
    relaxed = replace(params, min_after=1, min_effect_sigmas=3.5, min_z=3.5, alpha=0.001)
    checked = 0
    for trial in range(60):
        level = 1.0 + 0.3 * (trial % 3 == 0)
        series = [noisy(1.0, rng) for _ in range(40)] + [noisy(level * 1.15, rng)]
        series += [None] * (trial % 2)
        whole = [p for p in find_change_points(series, params=relaxed)
                 if p.index == 40]
        suspect = find_suspect(series, params=params)
        assert (suspect is None) == (not whole)
        if suspect is not None:
            assert replace(suspect, method=whole[0].method) == whole[0]
            checked += 1
    assert checked > 10


def test_a_tenfold_step_after_one_single_sample_run_is_a_suspect_at_once():
    # LNT's corpus: machine2/test1 execution_time 1.0 then 10.0, one sample per run.
    suspect = find_suspect([1.0, 10.0])
    assert suspect is not None
    assert (suspect.index, suspect.old_value, suspect.new_value) == (1, 1.0, 10.0)
    assert suspect.method == "mwu+median/short-history/suspect"


def test_a_halving_on_a_short_history_is_a_suspect_too():
    suspect = find_suspect([None, 2.0, 2.02, 1.98, 0.9])
    assert suspect is not None and suspect.index == 4 and not suspect.is_regression


def test_a_step_short_of_twice_on_a_short_history_is_not_a_suspect():
    assert find_suspect([1.0, 1.01, 1.9]) is None


def test_a_tenfold_single_sample_run_after_a_long_history_is_not_a_suspect():
    # Beyond ``short_history`` orders one wild run is not evidence on its own.
    rng = random.Random(5)
    series = [noisy(1.0, rng, n=1)[0] for _ in range(10)] + [10.0]
    assert find_suspect(series) is None

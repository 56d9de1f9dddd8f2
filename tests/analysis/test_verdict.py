"""The run report's one judge: tables, the detector's model, and measured error rates."""

from __future__ import annotations

import math
import random
from collections import Counter

import numpy as np
import pytest

from perf.analysis.changepoints import DetectionParams
from perf.analysis.verdict import (
    CHANGED,
    DETECTED,
    FEW,
    NOISE,
    SAME_BINARY,
    SMALL,
    SUSPECT,
    Move,
    MoveColumns,
    judge,
    judge_columns,
    windows,
)


def history(n: int = 20, *, level: float = 1.0, noise: float = 0.01, seed: int = 3) -> list[float]:
    rng = random.Random(seed)
    return [level * (1.0 + rng.gauss(0.0, noise)) for _ in range(n)]


def move(new: float, past: list[float | None], **kwargs: object) -> Move:
    old = kwargs.pop("old", past[-1] if past else 1.0)
    return Move(delta=(new - old) / abs(old) * 100.0, new_level=new, old_level=old,
                history=past, **kwargs)  # type: ignore[arg-type]


def kind(new: float, past: list[float | None], **kwargs: object) -> str:
    (found,) = judge([move(new, past, **kwargs)])
    return found.kind


STEADY = history()


@pytest.mark.parametrize(
    ("new", "past", "kwargs", "expected"),
    [
        (1.10, STEADY, {}, CHANGED),  # 10 sd: beyond the detector's noise
        (STEADY[-1] * 1.015, STEADY, {}, NOISE),
        (STEADY[-1] * 1.005, STEADY, {}, SMALL),  # under the 1 % threshold
        (10.0, [1.0], {}, CHANGED),  # LNT's corpus: a 10x step is no noise, even so
        (1.5, [1.0], {}, FEW),  # but 50 % on one run of history cannot be judged
        (1.2, [1.0, 1.02, 0.98], {}, FEW),  # the model cannot pass 20 % on 3 runs
        (10.0, [1.0, 1.01, 0.99, 1.0, 1.005, 0.995], {}, CHANGED),  # but a 10x step, yes
        (1.5, [], {}, FEW),  # no history at all
        (1.5, [None] * 20, {"old": 1.0}, FEW),  # 20 failed runs are no history either
        (1.10, STEADY, {"same_binary": True}, SAME_BINARY),
        (STEADY[-1] * 1.015, STEADY, {"stored": DETECTED}, DETECTED),
        (STEADY[-1] * 1.015, STEADY, {"stored": SUSPECT}, SUSPECT),
        (STEADY[-1] * 1.001, STEADY, {"stored": DETECTED}, SMALL),  # a badge, not a flag
        # Against a baseline at 1.1 outside the history, 1.115 is within the noise...
        (1.115, STEADY, {"old": 1.10, "adjacent": False}, NOISE),
        (1.115, STEADY, {"old": 1.10}, CHANGED),  # ...though the recent runs are at 1.0
        (1.10, history(level=1.1), {"old": 1.0, "adjacent": False}, CHANGED),
        (1.10, history(level=1.1), {"old": 1.0}, NOISE),  # the step was before the history
    ],
)
def test_verdicts(new, past, kwargs, expected):
    assert kind(new, past, **kwargs) == expected


def test_a_move_against_the_series_level_is_not_a_change():
    # The old run was a wild one (+30 %); the new run is back at the level.
    assert kind(1.0, [*history(19), 1.3]) == NOISE


def test_a_verdict_reports_the_detectors_noise_and_z():
    (found,) = judge([move(1.10, STEADY)])
    assert found.noise == pytest.approx(1.0, abs=0.35)  # 1 % Gaussian noise
    assert found.z == pytest.approx(10.0 / found.noise / 1.036, rel=0.15)
    assert found.known == 20 and found.flagged
    (short,) = judge([move(10.0, [1.0])])
    assert (short.noise, short.z, short.known) == (None, None, 1)


def test_only_the_detectors_window_of_history_counts():
    window = DetectionParams().window_before
    noisy_then_quiet = history(40, noise=0.2) + history(window, noise=0.005)
    (found,) = judge([move(1.05, noisy_then_quiet)])
    assert found.known == window and found.kind == CHANGED


def test_the_threshold_is_the_detectors_relative_change_too():
    flat = [1.0] * 20
    assert kind(1.005, flat) == SMALL
    (found,) = judge([move(1.005, flat)], min_change=0.1)
    assert found.kind == CHANGED


def test_min_history_decides_between_few_and_noise():
    past = history(12)
    assert kind(past[-1] * 1.02, past) == NOISE
    (found,) = judge([move(past[-1] * 1.02, past)], min_history=15)
    assert found.kind == FEW


def test_judging_many_moves_at_once_gives_each_its_own_verdict():
    moves = [move(1.10, STEADY), move(1.5, [1.0]), move(STEADY[-1] * 1.015, STEADY)]
    assert [v.kind for v in judge(moves)] == [CHANGED, FEW, NOISE]
    assert [v.kind for v in judge(moves[::-1])] == [NOISE, FEW, CHANGED]
    assert judge([]) == []


def _verdicts(step: float, *, noise: float, runs: int = 20, trials: int = 4000) -> Counter[str]:
    """Verdicts on ``trials`` one-sample series: ``runs`` runs of history with Gaussian
    ``noise`` (relative), then one run ``step`` (relative) away from the level."""
    rng = random.Random(7)
    moves = []
    for _ in range(trials):
        past = [1.0 + rng.gauss(0.0, noise) for _ in range(runs)]
        moves.append(move((1.0 + rng.gauss(0.0, noise)) * (1.0 + step), past))
    return Counter(v.kind for v in judge(moves))


def test_clean_runs_are_rarely_flagged_and_real_steps_are_found():
    # Measured: 3 in 4,000 clean one-sample runs flagged at 2 % noise (the rule the
    # report had before flagged 1.6 %, 64 in 4,000); a 10 % step is flagged in 71 %
    # of runs at 2 % noise and 100 % at 1 %.  The detector's z threshold is set for
    # about ten looks at each order, so the report inherits its false-alarm budget.
    clean = _verdicts(0.0, noise=0.02)
    assert clean[CHANGED] <= 8
    assert _verdicts(0.10, noise=0.02)[CHANGED] > 0.6 * 4000
    assert _verdicts(0.10, noise=0.01)[CHANGED] > 0.99 * 4000


def test_with_little_history_nothing_is_called_within_the_noise():
    found = _verdicts(0.0, noise=0.02, runs=6)
    assert found[NOISE] == 0 and found[FEW] > 0.7 * 4000


def test_judging_a_list_at_once_gives_each_move_its_own_verdict():
    # Histories of every shape side by side: longer than the window, short, empty,
    # with failed (None) and non-finite runs, steps and a distant old run.
    window = DetectionParams().window_before
    rng = random.Random(11)
    moves = []
    for k in range(60):
        past: list[float | None] = [
            None if rng.random() < 0.1 else v
            for v in history(rng.choice([0, 1, 3, window - 1, window, window + 7]), seed=k)
        ]
        if k % 9 == 0 and past:
            past[-1] = float("inf")
        new = 1.3 if k % 4 == 0 else 1.0 + rng.gauss(0.0, 0.01)
        moves.append(move(new, past, old=1.0, adjacent=k % 5 != 0))
    together = judge(moves)
    assert together == [judge([m])[0] for m in moves]
    # Only the window's last runs count, and only the finite ones.
    assert [v.known for v in together] == [
        sum(1 for x in m.history[-window:] if x is not None and math.isfinite(x)) for m in moves
    ]
    assert {v.kind for v in together} >= {CHANGED, FEW, NOISE, SMALL}


def _mixed_columns(count: int, *, same_binary: bool = False) -> tuple[MoveColumns, np.ndarray]:
    """Moves of every kind as columns, and their histories' matrix."""
    rng = random.Random(5)
    moves = [
        move(rng.choice([1.005, 1.02, 1.10, 1.5]), history(rng.choice([0, 1, 3, 20]), seed=k),
             old=1.0, adjacent=k % 3 != 0, stored=rng.choice(["", "", DETECTED, SUSPECT]))
        for k in range(count)
    ]
    columns = MoveColumns(
        delta=np.array([m.delta for m in moves]),
        new_level=np.array([m.new_level for m in moves]),
        old_level=np.array([m.old_level for m in moves]),
        adjacent=np.array([m.adjacent for m in moves]),
        stored=[m.stored for m in moves],
        same_binary=np.array([same_binary and k % 5 == 0 for k in range(count)]),
    )
    return columns, windows([m.history for m in moves], DetectionParams().window_before)


def test_judging_without_evidence_gives_the_same_kinds_and_no_noise():
    columns, past = _mixed_columns(40)
    full = judge_columns(columns, past)
    bare = judge_columns(columns, past, evidence=False)
    assert (bare.kind, bare.known) == (full.kind, full.known)
    assert set(full.kind) >= {SMALL, DETECTED, SUSPECT, CHANGED, FEW, NOISE}
    assert any(n is not None for n in full.noise) and any(z is not None for z in full.z)
    assert bare.noise == bare.z == [None] * len(columns.delta)


def test_judging_with_the_flagged_evidence_gives_the_same_kinds_and_their_evidence():
    columns, past = _mixed_columns(80, same_binary=True)
    full = judge_columns(columns, past)
    shown = judge_columns(columns, past, evidence="flagged")
    assert set(full.kind) >= {SMALL, SAME_BINARY, DETECTED, SUSPECT, CHANGED, FEW, NOISE}
    assert (shown.kind, shown.known) == (full.kind, full.known)
    for k, kind in enumerate(full.kind):
        flagged = kind in (DETECTED, SUSPECT, CHANGED)
        assert (shown.noise[k], shown.z[k]) == (
            (full.noise[k], full.z[k]) if flagged else (None, None)
        )
    assert any(n is not None for n in shown.noise) and any(z is not None for z in shown.z)

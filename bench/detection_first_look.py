"""The detector's first looks, for tuning: how soon a step is reported, and what it costs.

Run: ``python bench/detection_first_look.py [--seed S] [--trials N] [JSON ...]``: for
each JSON object of ``DetectionParams`` changes (none: the defaults), on the generator
of ``bench/detection_quality.py`` with the tune seed by default (20240521):

* a 10 % step at 3 % noise with 3 samples per run, 30 runs before it: the share of
  ``--trials`` series where ``find_change_points`` on the history so far reports it
  (within 2 orders) by the 2nd and by the 3rd known run at the new level;
* recall and precision on 600 series with steps of 3-8 sd (every noise kind, one and
  three samples per run: offline, on the whole series);
* a slow drift with 3 samples per run, replayed run by run as the pipeline sees it
  (``--trials`` clean series of 150 orders, seed + 1 as detection_quality's replay):
  alarms ever raised per 1,000 orders, and how many known orders lay after the index
  when each was raised (2 = the first look).

Seeded, loopback-free, stops by itself (about a minute per parameter set with 1,000
trials on a quiet 2-core machine).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from detection_quality import (  # noqa: E402 -- the paths above make the script runnable
    LENGTH,
    NOISE_KINDS,
    TUNE_SEED,
    Score,
    make_case,
    replay,
    share,
)

from perf.analysis import DetectionParams, find_change_points  # noqa: E402

STEP_AT = 30


def delay_shares(params: DetectionParams, seed: int, trials: int) -> tuple[int, int]:
    """Series of ``trials`` whose 10 % step is reported by the 2nd / 3rd known run."""
    rng = np.random.default_rng(seed)
    second = third = 0
    for _ in range(trials):
        case = make_case(rng, "gaussian", 3, "large", length=45, sigma=0.03,
                         step_at=STEP_AT, step_size=0.10)
        for total in range(STEP_AT + 1, 46):
            found = find_change_points(case.series[:total], params=params)
            if any(abs(point.index - STEP_AT) <= 2 for point in found):
                known = sum(1 for item in case.series[STEP_AT:total] if item is not None)
                second += known <= 2
                third += known <= 3
                break
    return second, third


def recall(params: DetectionParams, seed: int) -> Score:
    rng = np.random.default_rng(seed)
    score = Score()
    for kind in NOISE_KINDS:
        for samples in (1, 3):
            for _ in range(60):
                case = make_case(rng, kind, samples, "large")
                score.add([p.index for p in find_change_points(case.series, params=params)],
                          case)
    return score


def drift_alarms(params: DetectionParams, seed: int, trials: int) -> tuple[int, Counter[int]]:
    rng = np.random.default_rng(seed + 1)
    cases = [make_case(rng, "drift", 3, "none") for _ in range(trials)]
    looks: Counter[int] = Counter()
    for case, (first_seen, _) in zip(cases, replay(cases, params), strict=True):
        for index, total in first_seen.items():
            looks[sum(1 for item in case.series[index:total] if item is not None)] += 1
    return sum(looks.values()), looks


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=TUNE_SEED,
                        help=f"seed of the generated data (default {TUNE_SEED}, the tune seed)")
    parser.add_argument("--trials", type=int, default=1000, help="trials per rate")
    parser.add_argument("params", nargs="*", default=["{}"],
                        help="JSON objects of DetectionParams changes (default: none)")
    args = parser.parse_args(argv)
    trials = max(10, args.trials)
    print(f"Seed {args.seed}; {trials} trials per rate; rates with their 95 % Wilson interval.")
    for text in args.params:
        params = replace(DetectionParams(), **json.loads(text))
        second, third = delay_shares(params, args.seed, trials)
        score = recall(params, args.seed)
        alarms, looks = drift_alarms(params, args.seed, trials)
        print(f"\n{text}")
        print(f"  10 % step, 3 % noise: by the 2nd run {share(second, trials)}, "
              f"by the 3rd {share(third, trials)}")
        print(f"  steps >= 3 sd (offline): recall {score.recall:.1%}, "
              f"precision {score.precision:.1%}")
        print(f"  slow drift, 3 samples, replayed: {alarms * 1000 / (trials * LENGTH):.2f} "
              f"alarms ever raised per 1,000 orders; by known orders after the index "
              f"{dict(sorted(looks.items()))}")


if __name__ == "__main__":
    main()

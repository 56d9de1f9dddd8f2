"""Quick look at one set of detector parameters on the tune seed (what the defaults were tuned on).

Run: ``python bench/detection_tuning.py [--params JSON] [--trials N] [--seed S]``, e.g.
``--params '{"trend_t": 0.0}'``: the JSON object's keys are ``DetectionParams`` fields,
replaced in the defaults. Prints, replayed run by run as ``detection_quality.py`` does
(same generator): the share of 10 % steps with 3 samples per run at 3 % noise reported by
the 2nd and the 3rd run at the new level, and per noise kind and sample count the alarms
ever raised per 1,000 clean orders, with how many runs the after window held when each was
first raised (2 = the first look). A few minutes with the default 200 trials; for tuning,
not for reporting: report figures with ``detection_quality.py`` on its report seed.
"""

from __future__ import annotations

import argparse
import collections
import json
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from detection_quality import (  # noqa: E402 -- the path above makes the script runnable
    LENGTH,
    NOISE_KINDS,
    TUNE_SEED,
    first_delay,
    make_case,
    replay,
    share,
)

from perf.analysis import DetectionParams  # noqa: E402 -- see above


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--params", default="{}",
                        help="JSON object of DetectionParams fields to change (default {})")
    parser.add_argument("--trials", type=int, default=200,
                        help="trials per row (default 200)")
    parser.add_argument("--seed", type=int, default=TUNE_SEED,
                        help=f"seed of the generated data (default {TUNE_SEED}, the tune seed)")
    args = parser.parse_args(argv)
    params = replace(DetectionParams(), **json.loads(args.params))
    trials: int = max(10, args.trials)
    rng = np.random.default_rng(args.seed)
    print(f"Parameters changed: {args.params}; seed {args.seed}; {trials} trials per row")
    cases = [make_case(rng, "gaussian", 3, "large", length=45, sigma=0.03, step_at=30,
                       step_size=0.10) for _ in range(trials)]
    delays = []
    for case, (first_seen, _) in zip(cases, replay(cases, params), strict=True):
        delay = first_delay(case.series, first_seen, 30)
        delays.append(99 if delay is None else delay)
    print(f"10 % step, 3 samples, 3 % noise: by the 2nd run "
          f"{share(sum(d <= 2 for d in delays), trials)}, by the 3rd "
          f"{share(sum(d <= 3 for d in delays), trials)}")
    print(f"{'noise':10} {'samples':>7} {'ever/1000':>10}  runs after the index at first alarm")
    clean_rng = np.random.default_rng(args.seed + 1)
    for kind in NOISE_KINDS:
        for samples in (1, 3):
            clean = [make_case(clean_rng, kind, samples, "none") for _ in range(trials)]
            after: collections.Counter[int] = collections.Counter()
            for case, (first_seen, _) in zip(clean, replay(clean, params), strict=True):
                for index, length in first_seen.items():
                    after[sum(item is not None for item in case.series[index:length])] += 1
            ever = sum(after.values())
            print(f"{kind:10} {samples:7} {1000 * ever / (trials * LENGTH):10.2f}  "
                  + " ".join(f"{k}:{n}" for k, n in sorted(after.items())))


if __name__ == "__main__":
    main()

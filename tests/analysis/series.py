"""Builders of synthetic series for the analysis tests (seeded, deterministic)."""

from __future__ import annotations

import numpy as np

from perf.analysis.changepoints import SeriesItem


def noisy(levels: list[float], *, noise: float = 0.01, samples: int = 1,
          seed: int = 0) -> list[SeriesItem]:
    """One item per level: ``samples`` gaussian samples with relative sd ``noise``."""
    rng = np.random.default_rng(seed)
    items: list[SeriesItem] = []
    for level in levels:
        values = level * (1 + rng.normal(0, noise, samples))
        items.append(float(values[0]) if samples == 1 else [float(v) for v in values])
    return items


def step(before: int, after: int, *, old: float = 1.0, new: float = 1.1,
         **options: float | int) -> list[SeriesItem]:
    """``before`` orders at ``old`` then ``after`` orders at ``new``, with noise."""
    return noisy([old] * before + [new] * after, **options)  # type: ignore[arg-type]

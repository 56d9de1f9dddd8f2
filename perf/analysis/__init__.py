"""Pure statistics for lntsite: change-point detection over per-order series.

Nothing under this package imports Django (``tests/analysis/test_purity.py`` enforces it).
"""

from perf.analysis.changepoints import (
    ChangePoint,
    DetectionParams,
    SliceResult,
    affected_indices,
    evaluate_slice,
    find_change_points,
    levels_of,
    means_of,
    slice_bounds,
)
from perf.analysis.screening import screen_levels, screen_suspects
from perf.analysis.suspects import find_suspect

__all__ = [
    "ChangePoint",
    "DetectionParams",
    "SliceResult",
    "affected_indices",
    "evaluate_slice",
    "find_change_points",
    "find_suspect",
    "levels_of",
    "means_of",
    "screen_levels",
    "screen_suspects",
    "slice_bounds",
]

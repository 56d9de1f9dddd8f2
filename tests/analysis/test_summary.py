"""The per-run mean that ingest stores (``Point.mean``) is the one the detector reads."""

from __future__ import annotations

import statistics

import pytest

from perf.analysis import means_of
from perf.analysis.summary import sample_mean, summarize


@pytest.mark.parametrize(
    "samples",
    [
        [1.785109, 0.695808, 1.739086],  # fsum / n and a sum of x / n differ in the last bit
        [0.1, 0.1, 0.1],
        [2.5],
        [1e-300, 3e-300],
        [123456789.123, 1e-05, 0.5],
    ],
)
def test_the_stored_mean_is_exactly_the_detectors(samples: list[float]) -> None:
    # The detection task screens on stored means: a screen that sees other numbers than
    # the analysis may drop a series that the analysis would report.
    assert summarize(samples).mean == means_of([samples])[0]


def test_a_mean_whose_exact_sum_overflows_is_finite_and_within_the_samples() -> None:
    samples = [1.7976931348623157e308, 1.7976931348623157e308, 1.6e308]
    mean = sample_mean(samples)
    assert min(samples) <= mean <= max(samples)
    assert mean == means_of([samples])[0]


@pytest.mark.parametrize(
    "samples", [[3.0], [2.0, 1.0], [1.0, 3.0, 2.0], [0.1, 0.7, 0.2, 0.4], [5.0, 5.0, 1e-300]]
)
def test_the_value_is_the_median_and_the_extremes_are_the_samples(samples: list[float]) -> None:
    summary = summarize(samples)
    assert summary.value == statistics.median(samples)
    assert (summary.minimum, summary.maximum) == (min(samples), max(samples))
    assert (summary.reported, summary.valid, summary.failed) == (len(samples), len(samples), False)

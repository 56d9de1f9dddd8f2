"""Prometheus metrics: what is measured, with bounded labels only.

Request latency by route (the URL *name*, never the raw path or query string, so no
unbounded labels and never a token), submissions by HTTP status, Celery task
durations by task and outcome, and at scrape time the detection backlog (queue depth
and lag, one query).  With several processes (gunicorn workers, celery workers) set
PROMETHEUS_MULTIPROC_DIR to an empty directory under var/ before they start: each
process writes its samples there and ``render`` adds them up (prometheus_client's
multiprocess mode); without it the figures are this process's own.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import REGISTRY, Collector

from .selectors.health import detection_backlog

SECONDS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
SUBMISSION_ROUTES = frozenset(
    {"perf:submit-run", "perf:submit-run-db", "perf:submit-run-suite", "perf:submit-run-default"}
)

REQUEST_SECONDS = Histogram(
    "lntsite_http_request_duration_seconds",
    "Time to answer a request, by route (URL name), method and status class.",
    ["route", "method", "status"],
    buckets=SECONDS,
)
SUBMISSIONS = Counter(
    "lntsite_submissions",
    "Run submissions answered, by outcome (accepted or refused) and HTTP status.",
    ["outcome", "status"],
)
TASK_SECONDS = Histogram(
    "lntsite_task_duration_seconds",
    "Time a Celery task ran in a worker, by task name and outcome.",
    ["task", "outcome"],
    buckets=SECONDS,
)


def request_observe(route: str, method: str, status: int, seconds: float) -> None:
    """Record one answered request; ``route`` is a URL name (or "unmatched")."""
    REQUEST_SECONDS.labels(
        route, method if method in METHODS else "other", f"{status // 100}xx"
    ).observe(seconds)
    if route in SUBMISSION_ROUTES:
        SUBMISSIONS.labels("accepted" if status < 300 else "refused", str(status)).inc()


def task_observe(task: str, outcome: str, seconds: float) -> None:
    TASK_SECONDS.labels(task, outcome).observe(seconds)


class BacklogCollector(Collector):
    """Detection queue depth and lag, read from the database at scrape time."""

    def collect(self) -> Iterator[Metric]:
        backlog = detection_backlog()
        depth = GaugeMetricFamily(
            "lntsite_detection_runs",
            "Runs not yet detected, by state (pending: not queued; queued: a task was "
            "published; failed: gave up).",
            labels=["state"],
        )
        for state in ("pending", "queued", "failed"):
            depth.add_metric([state], backlog[state])
        yield depth
        lag = backlog["oldest_pending_seconds"]
        yield GaugeMetricFamily(
            "lntsite_detection_lag_seconds",
            "Age of the oldest run waiting for detection (0 when none waits).",
            value=0.0 if lag is None else lag,
        )


def render() -> bytes:
    """The exposition text: this process's (or every process's) metrics and the backlog."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
    else:
        registry = CollectorRegistry()
        registry.register(_Process())
    registry.register(BacklogCollector())
    return generate_latest(registry)


class _Process(Collector):
    """This process's own metrics (the default registry), inside a per-scrape registry."""

    def collect(self) -> Iterator[Metric]:
        yield from REGISTRY.collect()

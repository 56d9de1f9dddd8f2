"""``/metrics``: Prometheus text that a parser reads, bounded labels, guarded access."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest
from prometheus_client.parser import text_string_to_metric_families

from perf.models import Run
from tests.factories import make_token, report_doc, submit_doc

pytestmark = pytest.mark.django_db

SCRAPER = {"HTTP_AUTHORIZATION": "Bearer scrape-me"}


@pytest.fixture(autouse=True)
def scraper_token(settings):
    settings.PERF_METRICS_TOKEN = "scrape-me"


def scrape(client) -> dict[str, list]:
    response = client.get("/metrics", **SCRAPER)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain")
    return {
        family.name: family.samples
        for family in text_string_to_metric_families(response.content.decode())
    }


def value(samples: list, name: str, **labels: str) -> float:
    return sum(
        s.value
        for s in samples
        if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())
    )


def submit(client, token: str, revision: int, *, value: float = 1.0) -> int:
    doc = report_doc(revision=revision, tests={"t/a": {"execution_time": [value]}})
    body = urlencode({"input_data": json.dumps(doc), "merge": "reject"})
    return client.post(
        f"/db_default/v4/nts/submitRun?token={token}",
        body,
        content_type="application/x-www-form-urlencoded",
    ).status_code


def test_request_latency_is_a_histogram_by_url_name_never_by_path_or_token(client):
    token = make_token()
    before = scrape(client)["lntsite_http_request_duration_seconds"]
    assert submit(client, token, 1) == 200
    client.get("/no/such/page?token=secret-looking-value")
    text = client.get("/metrics", **SCRAPER).content.decode()
    after = scrape(client)["lntsite_http_request_duration_seconds"]
    name = "lntsite_http_request_duration_seconds_count"
    labels = {"route": "perf:submit-run", "method": "POST", "status": "2xx"}
    assert value(after, name, **labels) == value(before, name, **labels) + 1
    assert value(after, name, route="unmatched", status="4xx") >= 1
    assert token not in text and "secret-looking-value" not in text and "/no/such" not in text
    assert {s.labels["route"] for s in after if "route" in s.labels} >= {"perf:submit-run"}


def test_submissions_are_counted_accepted_and_refused_by_status(client):
    token = make_token()
    before = scrape(client).get("lntsite_submissions", [])
    assert submit(client, token, 2) == 200
    assert submit(client, token, 2, value=2.0) == 409  # other data, same order, reject
    after = scrape(client)["lntsite_submissions"]
    for outcome, status in (("accepted", "200"), ("refused", "409")):
        name = "lntsite_submissions_total"
        assert value(after, name, outcome=outcome, status=status) == (
            value(before, name, outcome=outcome, status=status) + 1
        )


def test_detection_backlog_and_lag_come_from_the_database(client):
    for revision in (1, 2, 3):
        submit_doc(report_doc(revision=revision))
    Run.objects.filter(id=Run.objects.order_by("id").first().id).update(
        detection_state=Run.FAILED
    )
    Run.objects.filter(id=Run.objects.order_by("-id").first().id).update(
        detection_queued_at="2026-01-01T00:00:00Z"
    )
    families = scrape(client)
    depth = families["lntsite_detection_runs"]
    assert {s.labels["state"]: s.value for s in depth} == {
        "pending": 1,
        "queued": 1,
        "failed": 1,
    }
    [lag] = families["lntsite_detection_lag_seconds"]
    assert lag.value >= 0


def test_task_durations_are_recorded_by_task_name_and_outcome(client):
    from perf import tasks

    run_id = submit_doc(report_doc()).run_id
    tasks.detect_run_task.apply(args=(run_id,))
    samples = scrape(client)["lntsite_task_duration_seconds"]
    name = "lntsite_task_duration_seconds_count"
    assert value(samples, name, task="perf.tasks.detect_run_task", outcome="success") >= 1


def test_without_a_token_metrics_are_refused_in_production(client, settings):
    settings.DEBUG = False
    settings.PERF_METRICS_TOKEN = ""
    response = client.get("/metrics")
    assert response.status_code == 403
    assert "PERF_METRICS_TOKEN" in response.json()["error"]


def test_with_a_token_only_a_scraper_that_sends_it_reads_metrics(client):
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    assert "lntsite_detection_runs" in scrape(client)


def test_without_a_token_the_embedded_default_shows_metrics_while_debug(client, settings):
    settings.DEBUG = True
    settings.PERF_METRICS_TOKEN = ""
    assert client.get("/metrics").status_code == 200


def test_metrics_answer_only_get(client):
    assert client.post("/metrics", **SCRAPER).status_code == 405


def test_in_multiprocess_mode_the_samples_of_every_process_add_up(tmp_path):
    """Two worker processes record a task each in PROMETHEUS_MULTIPROC_DIR; one scrape
    sees both (what gunicorn and celery workers do)."""
    import os
    import subprocess
    import sys

    from prometheus_client import CollectorRegistry, generate_latest
    from prometheus_client.multiprocess import MultiProcessCollector

    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    env = {
        **os.environ,
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
        "DJANGO_SETTINGS_MODULE": "lntsite.settings",
        "PERF_VAR_DIR": str(tmp_path),
        "PERF_DEBUG_TOOLBAR": "0",
    }
    code = (
        "import django; django.setup(); from perf.metrics import task_observe; "
        "task_observe('perf.tasks.detect_run_task', 'success', {})"
    )
    for seconds in (0.5, 0.25):
        subprocess.run(  # noqa: S603 - this interpreter, our own module
            [sys.executable, "-c", code.format(seconds)], env=env, check=True, timeout=60
        )
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=str(metrics_dir))
    families = {
        f.name: f.samples
        for f in text_string_to_metric_families(generate_latest(registry).decode())
    }
    samples = families["lntsite_task_duration_seconds"]
    assert value(samples, "lntsite_task_duration_seconds_count") == 2
    assert value(samples, "lntsite_task_duration_seconds_sum") == pytest.approx(0.75)

"""Which requests read the replica, and how the site falls back to the primary.

No second database here: the router and middleware are judged by where they *send*
reads (the mark a view would run under); tests/deploy/test_replica.py runs the site on a
real primary and streaming replica.
"""

import pytest
from django.db import OperationalError
from django.http import HttpResponse
from django.test import RequestFactory

from lntsite import replica
from lntsite.replica import (
    STICKY_COOKIE,
    ReplicaHealth,
    ReplicaMiddleware,
    ReplicaRouter,
    wants_replica,
)
from perf.models import Machine

rf = RequestFactory()


class Recorder:
    """A get_response that notes, per call, whether reads went to the replica."""

    def __init__(self, *statuses: int) -> None:
        self.statuses = list(statuses)
        self.calls: list[bool] = []

    def __call__(self, request):
        self.calls.append(replica._reading_replica.get())
        return HttpResponse(status=self.statuses.pop(0) if self.statuses else 200)


def middleware(get_response, usable=True) -> ReplicaMiddleware:
    mw = ReplicaMiddleware(get_response)
    mw.health = ReplicaHealth(lambda: 0.0 if usable else 99.0, interval=60, max_lag=5)
    return mw


def test_the_router_reads_the_primary_unless_the_request_is_marked():
    router = ReplicaRouter()
    assert router.db_for_read(Machine) is None
    mark = replica._reading_replica.set(True)
    try:
        assert router.db_for_read(Machine) == "replica"
    finally:
        replica._reading_replica.reset(mark)


def test_the_router_writes_the_primary_even_in_a_marked_request():
    mark = replica._reading_replica.set(True)
    try:
        assert ReplicaRouter().db_for_write(Machine) is None
    finally:
        replica._reading_replica.reset(mark)


def test_related_rows_of_an_object_from_the_primary_are_read_there():
    machine = Machine(name="m")
    machine._state.db = "default"
    mark = replica._reading_replica.set(True)
    try:
        assert ReplicaRouter().db_for_read(Machine, instance=machine) == "default"
    finally:
        replica._reading_replica.reset(mark)


def test_migrations_never_run_on_the_replica():
    router = ReplicaRouter()
    assert router.allow_migrate("replica", "perf") is False
    assert router.allow_migrate("default", "perf") is True


@pytest.mark.parametrize(
    ("method", "path", "cookies", "expected"),
    [
        ("get", "/db_default/v4/nts/machines", {}, True),
        ("head", "/db_default/v4/nts/", {}, True),
        ("get", "/api/db_default/v4/nts/runs/5", {}, True),
        ("post", "/db_default/v4/nts/submitRun", {}, False),
        ("get", "/admin/perf/run/", {}, False),
        ("get", "/accounts/login/", {}, False),
        ("get", "/health", {}, False),
        ("get", "/db_default/v4/nts/5", {"sessionid": "x"}, False),
        ("get", "/db_default/v4/nts/5", {STICKY_COOKIE: "1"}, False),
        ("get", "/db_default/v4/nts/5?fresh", {}, False),
        ("get", "/db_default/v4/nts/5?fresh=1", {}, False),
    ],
)
def test_only_anonymous_page_and_api_reads_go_to_the_replica(method, path, cookies, expected):
    request = getattr(rf, method)(path)
    request.COOKIES.update(cookies)
    assert wants_replica(request) is expected


def test_a_page_read_runs_on_the_replica():
    recorder = Recorder(200)
    assert middleware(recorder)(rf.get("/db_default/v4/nts/")).status_code == 200
    assert recorder.calls == [True]
    assert replica._reading_replica.get() is False  # unmarked after the request


def test_a_page_the_replica_does_not_have_yet_is_answered_from_the_primary():
    recorder = Recorder(404, 200)
    assert middleware(recorder)(rf.get("/db_default/v4/nts/77")).status_code == 200
    assert recorder.calls == [True, False]


def test_a_replica_failure_is_answered_from_the_primary_and_the_replica_left_alone():
    recorder = Recorder(503, 200, 200)
    mw = middleware(recorder)
    assert mw(rf.get("/db_default/v4/nts/")).status_code == 200
    assert mw(rf.get("/db_default/v4/nts/")).status_code == 200
    assert recorder.calls == [True, False, False]


def test_a_lagging_replica_is_not_read():
    recorder = Recorder(200)
    middleware(recorder, usable=False)(rf.get("/db_default/v4/nts/"))
    assert recorder.calls == [False]


def test_a_write_makes_the_browser_read_the_primary_for_a_while(settings):
    settings.PERF_REPLICA_STICKY_SECONDS = 30
    response = middleware(Recorder(302))(rf.post("/db_default/v4/nts/regressions/1"))
    assert response.cookies[STICKY_COOKIE]["max-age"] == 30
    assert response.cookies[STICKY_COOKIE]["httponly"]


def test_a_refused_write_sets_no_cookie():
    response = middleware(Recorder(400))(rf.post("/db_default/v4/nts/submitRun"))
    assert STICKY_COOKIE not in response.cookies


class Probe:
    def __init__(self, *results) -> None:
        self.results = list(results)
        self.calls = 0

    def __call__(self) -> float:
        self.calls += 1
        result = self.results.pop(0)
        if isinstance(result, Exception):
            raise result
        return result


def test_the_replica_is_checked_once_per_interval():
    probe = Probe(0.0)
    health = ReplicaHealth(probe, interval=60, max_lag=5)
    assert [health.usable() for _ in range(3)] == [True, True, True]
    assert probe.calls == 1


def test_an_unreachable_or_lagging_replica_is_unusable_until_the_next_check():
    for result in (OperationalError("connection refused"), 6.0):
        health = ReplicaHealth(Probe(result, 0.0), interval=0, max_lag=5)
        assert health.usable() is False
        assert health.usable() is True  # interval 0: checked again, caught up


def test_a_replica_marked_down_is_not_used_until_the_next_check():
    probe = Probe(0.0, 0.0)
    health = ReplicaHealth(probe, interval=60, max_lag=5)
    assert health.usable() is True
    health.mark_down()
    assert health.usable() is False
    assert probe.calls == 1

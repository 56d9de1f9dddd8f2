"""Every request is logged with its duration and query count; slow ones stand out."""

import logging

import pytest

pytestmark = pytest.mark.django_db


def test_each_request_logs_method_path_status_duration_and_queries(client, caplog):
    with caplog.at_level(logging.INFO, logger="perf.request"):
        client.get("/api/db_default/v4/nts/fields?token=secret-value")
    [record] = [r for r in caplog.records if r.name == "perf.request"]
    message = record.getMessage()
    assert message.startswith("GET /api/db_default/v4/nts/fields 200 ")
    assert "ms queries=" in message and "db=" in message
    assert "secret-value" not in message  # the query string (tokens) is never logged
    assert record.levelno == logging.INFO


def test_a_slow_request_is_a_warning(client, caplog, settings):
    settings.PERF_SLOW_REQUEST_MS = 0  # every request is slower than 0 ms
    with caplog.at_level(logging.INFO, logger="perf.request"):
        client.get("/api/db_default/v4/nts/fields")
    [record] = [r for r in caplog.records if r.name == "perf.request"]
    assert record.levelno == logging.WARNING
    assert record.getMessage().endswith(" SLOW")


def test_the_query_count_is_right(client, caplog, django_assert_num_queries):
    with caplog.at_level(logging.INFO, logger="perf.request"):
        with django_assert_num_queries(2) as captured:
            client.get("/api/db_default/v4/nts/fields")
    [record] = [r for r in caplog.records if r.name == "perf.request"]
    assert f"queries={len(captured.captured_queries)} " in record.getMessage()

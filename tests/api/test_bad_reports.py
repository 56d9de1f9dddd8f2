"""Every malformed report in tests/data/bad answers 4xx naming the problem, writes nothing."""

import json
from pathlib import Path

import pytest

from tests.rowcounts import row_counts

pytestmark = pytest.mark.django_db

BAD = Path(__file__).resolve().parent.parent / "data" / "bad"
EXPECTED = json.loads((BAD / "expected.json").read_text())


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_a_malformed_report_is_refused_over_http_and_writes_nothing(client, token, name):
    case = EXPECTED[name]
    raw = (BAD / name).read_bytes()
    before = row_counts()
    if "suite" in case:
        response = client.post(
            f"/api/db_default/v4/{case['suite']}/runs",
            raw,
            content_type="application/json",
            HTTP_AUTHTOKEN=token,
        )
    else:  # the report's own tag must pick the suite: the endpoint without one
        response = client.post(
            "/db_default/submitRun", {"input_data": raw.decode()}, HTTP_AUTHTOKEN=token
        )
    assert 400 <= response.status_code < 500, response.content[:300]
    body = response.json()
    assert body["success"] is False
    assert case["message_contains"] in body["error"]
    assert row_counts() == before


def test_there_are_at_least_thirty_bad_reports():
    assert len(EXPECTED) >= 30


@pytest.mark.parametrize("name", sorted(EXPECTED)[:8])
def test_a_malformed_report_is_refused_by_the_form_endpoint_too(client, token, name):
    raw = (BAD / name).read_bytes().decode("utf-8", errors="replace") or " "
    before = row_counts()
    response = client.post(
        f"/db_default/v4/{EXPECTED[name].get('suite', 'nts')}/submitRun?token={token}",
        {"input_data": raw},
    )
    assert 400 <= response.status_code < 500
    assert response.json()["success"] is False
    assert row_counts() == before

"""Profiles: sent with a report (v1 '.profile', v2 'profile'), listed and downloadable."""

import base64
import json
import zlib
from pathlib import Path

import pytest

from perf.models import Profile, Run
from tests.factories import CORPUS, report_doc, submit_doc

pytestmark = pytest.mark.django_db

PAYLOAD = zlib.compress(b"LNT profile bytes, opaque here" * 50)


def v2_with_profile(payload=PAYLOAD, **options):
    doc = report_doc(tests={"t/a": {"execution_time": 1.0}, "t/b": {"execution_time": 2.0}})
    doc["tests"][0]["profile"] = base64.b64encode(payload).decode()
    return submit_doc(doc, **options)


def test_lnt_submit_of_a_v2_report_with_a_profile_stores_it_compressed(client, token):
    doc = report_doc(tests={"t/a": {"execution_time": 1.0}})
    doc["tests"][0]["profile"] = base64.b64encode(PAYLOAD).decode()

    response = client.post(
        f"/db_default/v4/nts/submitRun?token={token}", {"input_data": json.dumps(doc)}
    )

    assert response.status_code == 200, response.content
    profile = Profile.objects.get()
    assert zlib.decompress(bytes(profile.data)) == PAYLOAD
    assert profile.size == len(PAYLOAD) and profile.test.name == "t/a"


def test_the_v1_profile_report_of_the_corpus_keeps_its_profile(client, token):
    raw = Path(CORPUS, "utils/profile-report.json").read_bytes()
    sent = next(t for t in json.loads(raw)["Tests"] if t["Name"].endswith(".profile"))["Data"][0]

    response = client.post(
        f"/db_default/v4/nts/submitRun?token={token}", {"input_data": raw.decode()}
    )

    assert response.status_code == 200, response.content
    assert zlib.decompress(bytes(Profile.objects.get().data)) == base64.b64decode(sent)


def test_a_profile_that_is_not_base64_is_refused_naming_the_test_and_nothing_is_stored(
    client, token
):
    doc = report_doc(tests={"t/a": {"execution_time": 1.0}})
    doc["tests"][0]["profile"] = "not base64!"

    response = client.post(
        f"/db_default/v4/nts/submitRun?token={token}", {"input_data": json.dumps(doc)}
    )

    assert response.status_code == 400
    assert "test 't/a': profile is not valid base64" in response.json()["error"]
    assert Run.objects.count() == Profile.objects.count() == 0


def test_the_run_page_lists_the_profiles_and_the_link_downloads_the_bytes(client):
    run_id = v2_with_profile().run_id
    test_id = Profile.objects.get().test_id

    body = client.get(f"/db_default/v4/nts/{run_id}").content.decode()
    download = client.get(f"/db_default/v4/nts/{run_id}/profiles/{test_id}")

    assert f'href="/db_default/v4/nts/profile/{run_id}/{test_id}">t/a</a>' in body  # the view
    assert f'href="/db_default/v4/nts/{run_id}/profiles/{test_id}" download>download</a>' in body
    assert download.status_code == 200
    assert download["Content-Type"] == "application/octet-stream"
    assert b"".join(download) == PAYLOAD


def test_the_api_lists_a_runs_profiles_and_serves_each(client, django_assert_num_queries):
    run_id = v2_with_profile().run_id
    test_id = Profile.objects.get().test_id

    with django_assert_num_queries(3):  # the suite, the run, its profiles
        listed = client.get(f"/api/db_default/v4/nts/runs/{run_id}/profiles").json()
    url = listed["profiles"][0]["url"]
    download = client.get(url)

    assert listed == {
        "run": run_id,
        "profiles": [
            {
                "test": "t/a",
                "test_id": test_id,
                "size": len(PAYLOAD),
                "counters": {},
                "url": f"http://testserver/api/db_default/v4/nts/runs/{run_id}/profiles/{test_id}",
            }
        ],
    }
    assert b"".join(download) == PAYLOAD


@pytest.mark.parametrize(
    "url",
    [
        "/db_default/v4/nts/{run}/profiles/99999",
        "/db_default/v4/compile/{run}/profiles/{test}",
        "/api/db_default/v4/nts/runs/{run}/profiles/99999",
        "/api/db_default/v4/nts/runs/99999/profiles",
    ],
)
def test_a_profile_or_run_that_is_not_there_is_a_404(client, url):
    run_id = v2_with_profile().run_id
    test_id = Profile.objects.get().test_id

    assert client.get(url.format(run=run_id, test=test_id)).status_code == 404


def test_replacing_a_run_replaces_its_profiles():
    v2_with_profile()
    v2_with_profile(payload=b"second", merge="replace")

    assert [
        bytes(zlib.decompress(bytes(p))) for p in Profile.objects.values_list("data", flat=True)
    ] == [b"second"]

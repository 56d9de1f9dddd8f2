"""LNT's profile view: counters side by side, functions hottest first, heat-mapped code."""

from __future__ import annotations

import base64
import pickle
import zlib
from pathlib import Path

import pytest
from django.urls import reverse

from perf.formats.profiles import parse_profile, write_profile_v2
from perf.models import Profile
from tests.factories import report_doc, submit_doc

pytestmark = pytest.mark.django_db

CORPUS = Path("/work/shared/lnt-corpus/lnt-instance/data/profiles/t-foo-s-3s7hx3hl.lntprof")


def v1_profile(functions: int, *, scale: float = 1.0, name: str = "fn") -> bytes:
    doc = {
        "disassembly-format": "raw",
        "counters": {"cycles": 1000.0 * scale, "branch-misses": 20.0},
        "functions": {
            f"{name}{i}": {
                "counters": {"cycles": float(i + 1) * scale},
                "data": [
                    [{"cycles": float(j) * scale}, 0x400000 + 4 * j, f"add r{j}, r{j}"]
                    for j in range(4)
                ],
            }
            for i in range(functions)
        },
    }
    return zlib.compress(pickle.dumps(doc, protocol=2))


def run_with_profile(payload: bytes, revision: int = 1000, test: str = "t/a") -> int:
    doc = report_doc(revision=revision, tests={test: {"execution_time": 1.0}})
    doc["tests"][0]["profile"] = base64.b64encode(payload).decode()
    return submit_doc(doc).run_id


def url(run_id: int, **query) -> str:
    test_id = Profile.objects.filter(run_id=run_id).values_list("test_id", flat=True).get()
    return reverse("perf:profile", args=["nts", run_id, test_id])


@pytest.mark.parametrize("functions", [2, 30])
def test_the_profile_page_shows_counters_functions_and_code_with_fixed_queries(
    client, functions, django_assert_num_queries
):
    page = url(run_with_profile(v1_profile(functions)))
    with django_assert_num_queries(2):  # the suite, the profile
        body = client.get(page).content.decode()
    assert 'id="profile-counters"' in body and "branch-misses" in body
    # hottest first: the last function has the most cycles
    assert body.index(f">fn{functions - 1}</a>") < body.index(">fn0</a>")
    assert f'<h2 id="code-title">fn{functions - 1}</h2>' in body
    assert "add r3, r3" in body and 'class="num hot-10"' in body  # the hottest line


def test_two_runs_side_by_side_with_the_delta_of_the_top_level_counters(
    client, django_assert_num_queries
):
    first = run_with_profile(v1_profile(2))
    second = run_with_profile(write_profile_v2(parse_profile(v1_profile(2, scale=1.5))), 1001)
    page = url(first)
    with django_assert_num_queries(3):
        body = client.get(page, {"compare": second, "function": "fn0"}).content.decode()
    assert f"disassembly-{first}" in body and f"disassembly-{second}" in body
    assert "+50.00" in body  # cycles 1000 -> 1500
    assert '<h2 id="code-title">fn0</h2>' in body


def test_the_corpus_profile_is_shown(client):
    run_id = run_with_profile(CORPUS.read_bytes())
    body = client.get(url(run_id)).content.decode()
    assert "12345" in body and "sub r1, r0, r0" in body and ">fn1</a>" in body


def test_names_from_the_profile_are_escaped(client):
    run_id = run_with_profile(v1_profile(1, name="<img src=x onerror=alert(1)>"))
    body = client.get(url(run_id)).content.decode()
    assert "<img src=x" not in body and "&lt;img src=x" in body


def test_a_profile_that_is_a_dangerous_pickle_is_shown_with_the_reason(client):
    class Evil:
        def __reduce__(self):
            return (print, ("never",))

    run_id = run_with_profile(zlib.compress(pickle.dumps(Evil())))
    response = client.get(url(run_id))
    assert response.status_code == 422
    assert "could run code" in response.content.decode()


def test_a_bad_compare_is_named_and_a_missing_profile_is_404(client):
    run_id = run_with_profile(v1_profile(1))
    body = client.get(url(run_id), {"compare": "abc"}).content.decode()
    assert "compare: expected a run id, got &#x27;abc&#x27;" in body
    body = client.get(url(run_id), {"compare": "999999"}).content.decode()
    assert "compare: run 999999 has no profile of this test" in body
    assert client.get(reverse("perf:profile", args=["nts", run_id, 999999])).status_code == 404


def test_the_run_page_links_to_the_profile_view(client):
    run_id = run_with_profile(v1_profile(1))
    body = client.get(reverse("perf:run-detail", args=["nts", run_id])).content.decode()
    assert url(run_id) in body


def test_the_profile_of_an_imported_lnt_database_is_shown(client):
    from tests.services.test_lnt_import import import_corpus

    import_corpus()
    profile = Profile.objects.select_related("run__suite").get()
    page = reverse("perf:profile", args=[profile.run.suite.name, profile.run_id, profile.test_id])
    body = client.get(page).content.decode()
    assert "12345" in body and ">fn1</a>" in body and "add r0, r0, r0" in body

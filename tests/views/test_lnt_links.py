"""LNT's old links open the same run, machine, order, regression or graph after an import."""

import pytest

from perf.models import LntIdMap, Machine, Metric, Run, Test
from tests.factories import report_doc, submit_doc
from tests.services.test_lnt_import import import_corpus

pytestmark = pytest.mark.django_db

# After importing the corpus: nts keeps LNT's ids (it comes first); compile's runs 1..3
# become 17..19, its machines 1..2 become 7..8, its tests 1..2 become 16..17.


@pytest.fixture
def imported():
    import_corpus()


def redirect_of(client, url):
    response = client.get(url)
    assert response.status_code == 302, (url, response.status_code)
    return response["Location"]


@pytest.mark.parametrize(
    ("url", "target"),
    [
        ("/v4/nts/5", "/db_default/v4/nts/5"),
        ("/db_default/v4/compile/1", "/db_default/v4/compile/17"),
        ("/v4/compile/3", "/db_default/v4/compile/19"),
        ("/v4/nts/machine/2", "/db_default/v4/nts/machines/2"),
        ("/db_default/v4/nts/machine/2", "/db_default/v4/nts/machines/2"),
        ("/db_default/v4/compile/machine/1", "/db_default/v4/compile/machines/7"),
        ("/v4/my_suite/machine/1", "/db_default/v4/my_suite/machines/9"),
        ("/v4/nts/order/5", "/db_default/v4/nts/orders/5"),
        ("/db_default/v4/compile/order/2", "/db_default/v4/compile/orders/17"),
        ("/v4/nts/regressions/2", "/db_default/v4/nts/regressions/2"),
        ("/v4/nts/graph?plot.0=2.4.3", "/db_default/v4/nts/graph?plot.0=2.4.3"),
        (
            "/db_default/v4/compile/graph?plot.0=1.1.4&highlight_run=1&moving_window_size=7",
            "/db_default/v4/compile/graph?plot.0=7.16.4&highlight_run=17&moving_window_size=7",
        ),
    ],
)
def test_an_lnt_link_redirects_to_the_same_row(client, imported, url, target):
    assert redirect_of(client, url) == target


@pytest.mark.parametrize(
    "url",
    [
        "/db_default/v4/nts/5",
        "/db_default/v4/compile/17",
        "/db_default/v4/nts/machines/2",
        "/db_default/v4/nts/regressions/2",
        "/db_default/v4/nts/order/1",
        "/db_default/v4/nts/graph?plot.1=2.8.3&plot.0=2.4.3&highlight_run=6",
    ],
)
def test_a_kept_lnt_id_opens_the_page_itself(client, imported, url):
    assert client.get(url).status_code == 200


def test_lnts_order_link_opens_the_order_of_lnts_first_run_there(client, imported):
    # LNT's compile order 2 holds LNT's compile run 2, stored here as run 18.
    assert redirect_of(client, "/db_default/v4/compile/order/2").endswith("/orders/17")
    assert Run.objects.get(id=18).order_id == 17
    assert client.get("/db_default/v4/compile/orders/17").status_code == 200


def test_the_run_page_behind_a_redirect_is_lnts_run(client, imported):
    response = client.get("/db_default/v4/compile/1", follow=True)

    assert response.status_code == 200
    assert response.redirect_chain == [("/db_default/v4/compile/17", 302)]
    assert Run.objects.get(id=17).source_detail == "lnt_tmp/compile-run1.json"


def test_the_graph_behind_an_lnt_graph_link_shows_lnts_series(client, imported):
    response = client.get("/v4/nts/graph?plot.0=2.4.3", follow=True)

    assert response.status_code == 200
    body = response.content.decode()
    assert "machine2</a> · test1 · Execution Time" in body


@pytest.mark.parametrize(
    "url",
    [
        "/v4/nts/99",
        "/db_default/v4/compile/99",
        "/v4/nts/machine/99",
        "/v4/nts/order/99",
        "/v4/nts/regressions/99",
        "/db_default/v4/nts/regressions/99",
        "/v4/nosuch/5",
    ],
)
def test_an_id_nothing_knows_is_a_404(client, imported, url):
    assert client.get(url).status_code == 404


def test_a_redirect_costs_two_queries(client, imported, django_assert_num_queries):
    with django_assert_num_queries(2):  # the suite, then the machine
        assert client.get("/v4/nts/machine/2").status_code == 302


def test_into_a_suite_with_data_lnt_ids_are_mapped_and_field_indices_translated(client):
    native = submit_doc(report_doc(machine="native-box", revision="100"))
    if native.run_id != 1:  # a native run holds id 1, as on a fresh site
        run = Run.objects.get(id=native.run_id)
        run.pk = 1
        run.save(force_insert=True)
    import_corpus()

    # LNT's nts run 1 could not keep its id: this site's run 1 answers at /1 (a native
    # row wins), and LNT's run 1 went elsewhere, as the map says.
    assert client.get("/db_default/v4/nts/1").status_code == 200
    moved = LntIdMap.objects.get(suite="nts", kind="run", lnt_id=1).local_id
    assert moved != 1
    assert Run.objects.get(id=moved).source_detail == "lnt_tmp/nts-run1.json"
    # nts had series already, so its positions stayed; the link's field 3 is still
    # execution_time, and LNT's machine 2 and test 4 are found through the map.
    machine = Machine.objects.get(suite__name="nts", name="machine2")
    test = Test.objects.get(suite__name="nts", name="test1")
    position = Metric.objects.get(suite__name="nts", name="execution_time").position
    assert redirect_of(client, "/v4/nts/graph?plot.0=2.4.3") == (
        f"/db_default/v4/nts/graph?plot.0={machine.id}.{test.id}.{position}"
    )


def test_native_ids_made_after_an_import_never_take_an_lnt_id(imported):
    result = submit_doc(report_doc(machine="new-box", revision="300000"))

    assert result.run_id > 19  # every id LNT's runs kept or were given
    assert Machine.objects.get(name="new-box").id > 9

"""Routes of the web pages (included by perf/urls.py under the perf namespace)."""

from django.urls import path

from . import graph, lnt_links, pages, profiles, regressions, triage

suite = "db_default/v4/<str:suite>/"
lnt = "v4/<str:suite>/"  # LNT's links without the database prefix

urlpatterns = [
    path("", pages.home, name="home"),
    path(suite, pages.suite_home, name="suite-home"),
    path(suite + "<int:run_id>", pages.run_detail, name="run-detail"),
    path(
        suite + "<int:run_id>/profiles/<int:test_id>",
        profiles.profile_download,
        name="run-profile",
    ),
    path(suite + "profile/<int:run_id>/<int:test_id>", profiles.profile_view, name="profile"),
    path(suite + "machines", pages.machine_list, name="machine-list"),
    path(suite + "machines/<int:machine_id>", pages.machine_detail, name="machine-detail"),
    path(suite + "compare", pages.compare, name="compare"),
    path(suite + "graph", graph.graph, name="graph"),
    path(suite + "graph/data", graph.graph_data, name="graph-data"),
    path(suite + "regressions", regressions.regression_list, name="regression-list"),
    path(
        suite + "regressions/<int:regression_id>",
        regressions.regression_detail,
        name="regression-detail",
    ),
    path(
        suite + "regressions/<int:regression_id>/update",
        regressions.regression_update,
        name="regression-update",
    ),
    path(
        suite + "regressions/<int:regression_id>/merge",
        regressions.regression_merge,
        name="regression-merge",
    ),
    path(
        suite + "regressions/<int:regression_id>/split",
        regressions.regression_split,
        name="regression-split",
    ),
    path(
        suite + "regressions/<int:regression_id>/add",
        regressions.regression_add,
        name="regression-add",
    ),
    path(suite + "triage", triage.triage_page, name="triage"),
    path(suite + "triage/action", triage.triage_action, name="triage-action"),
    path(
        suite + "regressions/from-point", triage.regression_from_point, name="regression-from-point"
    ),
    path(suite + "daily", regressions.daily, name="daily"),
    # --- LNT's old links (after import_lnt_db), with or without the database prefix ---
    path(lnt + "<int:run_id>", lnt_links.run, name="lnt-run"),
    path(lnt + "graph", lnt_links.graph, name="lnt-graph"),
    path(lnt + "regressions/<int:regression_id>", lnt_links.regression, name="lnt-regression"),
    *(
        route
        for prefix, name in ((suite, "lnt-db-"), (lnt, "lnt-"))
        for route in (
            path(prefix + "machine/<int:machine_id>", lnt_links.machine, name=name + "machine"),
            path(prefix + "order/<int:order_id>", lnt_links.order, name=name + "order"),
        )
    ),
    path(suite + "search", regressions.search, name="search"),
]

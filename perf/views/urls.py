"""Routes of the web pages (included by perf/urls.py under the perf namespace)."""

from django.urls import path

from . import compare, graph, lnt_links, orders, overview, pages, profiles, regressions, triage

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
    path(
        suite + "machines/<int:machine_id>/summary",
        pages.machine_summary,
        name="machine-summary",
    ),
    path(suite + "compare", pages.compare, name="compare"),
    path(suite + "orders", orders.order_list, name="order-list"),
    path(suite + "orders/<id:order_id>", orders.order_detail, name="order-detail"),
    # LNT's URLs for the same pages (/v4/<suite>/order/<id>, /v4/<suite>/all_orders).
    path(suite + "order/<id:order_id>", orders.order_detail, name="order-detail-lnt"),
    path(suite + "all_orders", orders.order_list, name="order-list-lnt"),
    path(suite + "compare/sides", compare.compare_sides, name="compare-sides"),
    path(
        suite + "compare/sides/regression",
        compare.compare_regression,
        name="compare-regression",
    ),
    path(suite + "baselines", compare.baseline_list, name="baseline-list"),
    path(suite + "baselines/new", compare.baseline_create, name="baseline-create"),
    path(
        suite + "baselines/<int:baseline_id>/rename",
        compare.baseline_rename,
        name="baseline-rename",
    ),
    path(
        suite + "baselines/<int:baseline_id>/delete",
        compare.baseline_delete,
        name="baseline-delete",
    ),
    path(suite + "graph", graph.graph, name="graph"),
    path(suite + "graph/data", graph.graph_data, name="graph-data"),
    path(suite + "graph/samples", graph.graph_samples, name="graph-samples"),
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
    # --- LNT's old links (after import_lnt_db), with or without the database prefix ---
    path(lnt + "<int:run_id>", lnt_links.run, name="lnt-run"),
    path(lnt + "graph", lnt_links.graph, name="lnt-graph"),
    path(lnt + "regressions/<int:regression_id>", lnt_links.regression, name="lnt-regression"),
    path(suite + "machine/<int:machine_id>", lnt_links.machine, name="lnt-db-machine"),
    path(lnt + "machine/<int:machine_id>", lnt_links.machine, name="lnt-machine"),
    # With the database prefix, order/<id> is the order page itself (it falls back to
    # the id map); without it, LNT's link redirects there.
    path(lnt + "order/<int:order_id>", lnt_links.order, name="lnt-order"),
    path(suite + "search", regressions.search, name="search"),
    # LNT's overview pages (perf/views/overview.py); "daily" keeps its old URL name.
    path(suite + "dashboard", overview.dashboard, name="dashboard"),
    path(suite + "matrix", overview.matrix, name="matrix"),
    path(suite + "global_status", overview.global_status, name="global-status"),
    path(suite + "latest_runs_report", overview.latest_runs, name="latest-runs"),
    path(suite + "daily", overview.daily_report, name="daily"),
    path(suite + "daily_report", overview.daily_report, name="daily-report"),
    path(
        suite + "daily_report/<int:year>/<int:month>/<int:day>",
        overview.daily_report_lnt,
        name="daily-report-lnt",
    ),
]

"""Routes of the web pages (included by perf/urls.py under the perf namespace)."""

from django.urls import path

from . import graph, overview, pages, regressions

suite = "db_default/v4/<str:suite>/"

urlpatterns = [
    path("", pages.home, name="home"),
    path(suite, pages.suite_home, name="suite-home"),
    path(suite + "<int:run_id>", pages.run_detail, name="run-detail"),
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

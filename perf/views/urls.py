"""Routes of the web pages (included by perf/urls.py under the perf namespace)."""

from django.urls import path

from . import graph, orders, pages, regressions

suite = "db_default/v4/<str:suite>/"

urlpatterns = [
    path("", pages.home, name="home"),
    path(suite, pages.suite_home, name="suite-home"),
    path(suite + "<int:run_id>", pages.run_detail, name="run-detail"),
    path(suite + "machines", pages.machine_list, name="machine-list"),
    path(suite + "machines/<int:machine_id>", pages.machine_detail, name="machine-detail"),
    path(suite + "compare", pages.compare, name="compare"),
    path(suite + "orders", orders.order_list, name="order-list"),
    path(suite + "orders/<id:order_id>", orders.order_detail, name="order-detail"),
    # LNT's URLs for the same pages (/v4/<suite>/order/<id>, /v4/<suite>/all_orders).
    path(suite + "order/<id:order_id>", orders.order_detail, name="order-detail-lnt"),
    path(suite + "all_orders", orders.order_list, name="order-list-lnt"),
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
    path(suite + "daily", regressions.daily, name="daily"),
    path(suite + "search", regressions.search, name="search"),
]

"""Routes of the web pages (included by perf/urls.py under the perf namespace)."""

from django.urls import path

from . import pages

urlpatterns = [
    path("", pages.home, name="home"),
    path("db_default/v4/<str:suite>/<int:run_id>", pages.run_detail, name="run-detail"),
]

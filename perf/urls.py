from django.urls import include, path

from .api import manage, read, submit

app_name = "perf"

api = "api/db_<str:db>/v4/<str:suite>/"

urlpatterns = [
    # --- pages (perf/views/urls.py) -----------------------------------------------
    path("", include("perf.views.urls")),
    # --- LNT submission (form endpoint used by `lnt submit`) ----------------------
    path("db_<str:db>/v4/<str:suite>/submitRun", submit.submit_run, name="submit-run"),
    path("db_<str:db>/submitRun", submit.submit_run, name="submit-run-db"),
    path("v4/<str:suite>/submitRun", submit.submit_run, name="submit-run-suite"),
    # --- REST API ----------------------------------------------------------------
    path(api + "runs", submit.runs_collection, name="api-runs"),
    # GET on runs/<id> and machines/<key> is read.*; DELETE/POST is manage.*.
    path(api + "runs/<int:run_id>", manage.run, name="api-run"),
    path(api + "runs/<int:run_id>/detection", read.run_detection, name="api-run-detection"),
    path(api + "machines", read.machines, name="api-machines"),
    path(api + "machines/<str:key>", manage.machine, name="api-machine"),
    path(api + "samples", read.samples, name="api-samples"),
    path(api + "orders/<str:key>", read.order, name="api-order"),
    path(api + "fields", read.fields, name="api-fields"),
    path(api + "tests", read.tests, name="api-tests"),
    path(api + "schema", read.schema, name="api-schema"),
    path(
        api + "graph/<int:machine_id>/<int:test_id>/<int:field_index>",
        read.graph,
        name="api-graph",
    ),
    path(
        api + "regression/<int:machine_id>/<int:test_id>/<int:field_index>",
        read.regression,
        name="api-regression",
    ),
]

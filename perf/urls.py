from django.urls import include, path, re_path, register_converter
from django.urls.resolvers import URLPattern

from .api import common, manage, profiles, read, submit
from .views import health

app_name = "perf"


class IdConverter:
    """A database id: at most 18 digits, so a longer one is a 404, not a bigint overflow."""

    regex = "[0-9]{1,18}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int) -> str:
        return str(value)


register_converter(IdConverter, "id")

api = "api/db_<str:db>/v4/<str:suite>/"


def api_path(route: str, view: common.View, name: str) -> list[URLPattern]:
    """The route and its trailing-slash form (LNT accepts both; the slash form is unnamed)."""
    return [path(route, view, name=name), path(route + "/", view)]


urlpatterns = [
    # --- pages (perf/views/urls.py) -----------------------------------------------
    path("", include("perf.views.urls")),
    # --- monitoring: database, broker, detection backlog (JSON) ---------------------
    path("health", health.health, name="health"),
    # --- LNT submission (form endpoint used by `lnt submit`) ----------------------
    path("db_<str:db>/v4/<str:suite>/submitRun", submit.submit_run, name="submit-run"),
    path("db_<str:db>/submitRun", submit.submit_run, name="submit-run-db"),
    path("v4/<str:suite>/submitRun", submit.submit_run, name="submit-run-suite"),
    path("submitRun", submit.submit_run, name="submit-run-default"),
    # --- REST API ----------------------------------------------------------------
    *api_path(api + "runs", submit.runs_collection, "api-runs"),
    # GET on runs/<id> and machines/<key> is read.*; DELETE/POST is manage.*.
    *api_path(api + "runs/<id:run_id>", manage.run, "api-run"),
    *api_path(api + "runs/<id:run_id>/detection", read.run_detection, "api-run-detection"),
    *api_path(api + "runs/<id:run_id>/profiles", profiles.run_profiles, "api-run-profiles"),
    *api_path(
        api + "runs/<id:run_id>/profiles/<id:test_id>", profiles.run_profile, "api-run-profile"
    ),
    *api_path(api + "machines", read.machines, "api-machines"),
    *api_path(api + "machines/<str:key>", manage.machine, "api-machine"),
    *api_path(api + "samples", read.samples, "api-samples"),
    *api_path(api + "samples/<str:sample_id>", read.sample, "api-sample"),
    *api_path(api + "orders/<str:key>", read.order, "api-order"),
    *api_path(api + "fields", read.fields, "api-fields"),
    *api_path(api + "tests", read.tests, "api-tests"),
    *api_path(api + "schema", read.schema, "api-schema"),
    *api_path(
        api + "graph/<id:machine_id>/<id:test_id>/<id:field_index>", read.graph, "api-graph"
    ),
    *api_path(
        api + "regression/<id:machine_id>/<id:test_id>/<id:field_index>",
        read.regression,
        "api-regression",
    ),
    # Anything else under /api/ is a JSON 404, even with DEBUG on (clients parse JSON).
    re_path(r"^api/", common.api_not_found, name="api-not-found"),
]

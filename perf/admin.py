"""Admin for maintainers, built for big tables.

Foreign keys to big tables are raw ids, list pages select their related rows in the
same query, and the tables that grow with every run use an estimated count.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.paginator import Paginator
from django.db import connection, models
from django.http import HttpRequest
from django.utils.functional import cached_property

from .formats import FormatError
from .formats.values import MACHINE_NAME_FORBIDDEN, check_name
from .models import (
    Baseline,
    ChangeIgnore,
    FieldChange,
    LntIdMap,
    Machine,
    Metric,
    NotificationDelivery,
    Order,
    Profile,
    Regression,
    RegressionEvent,
    RegressionIndicator,
    Run,
    SubmissionToken,
    Test,
    TestSuite,
)
from .services.detection import runs_enqueue, runs_retry_detection
from .services.runs import machine_delete, run_delete
from .services.tokens import token_set_secret
from .tasks import detect_run_task, enqueue_detection, publish


class EstimatedCountPaginator(Paginator):
    """Uses PostgreSQL's planner estimate instead of COUNT(*) on unfiltered big tables."""

    @cached_property
    def count(self) -> int:  # type: ignore[override]
        qs = self.object_list
        if connection.vendor == "postgresql" and not qs.query.where:  # type: ignore[union-attr]
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT reltuples::bigint FROM pg_class WHERE relname = %s",
                    [qs.model._meta.db_table],  # type: ignore[union-attr]
                )
                row = cursor.fetchone()
            if row and row[0] > 10_000:
                return int(row[0])
        return super().count


class BigTableAdmin(admin.ModelAdmin):
    paginator = EstimatedCountPaginator
    show_full_result_count = False

    def get_deleted_objects(self, objs: Any, request: HttpRequest) -> Any:
        """Summarise instead of listing every dependent row: a machine has millions
        of samples, and Django's default confirmation page would render each one.
        Deleting cascades to runs and field changes, so those permissions are needed."""
        names = [str(obj) for obj in objs]
        perms_needed = {
            model._meta.verbose_name
            for model in (self.model, Run, FieldChange)
            if not request.user.has_perm(f"{model._meta.app_label}.delete_{model._meta.model_name}")
        }
        summary = [
            f"{self.model._meta.verbose_name} {name}, with everything that depends on it "
            "(runs, samples, points, field changes)"
            for name in names
        ]
        return summary, {self.model._meta.verbose_name_plural: len(names)}, perms_needed, []


class MetricInline(admin.TabularInline):
    model = Metric
    extra = 0
    fields = [
        "position",
        "name",
        "type",
        "bigger_is_better",
        "ignore_same_hash",
        "display_name",
        "unit",
    ]
    readonly_fields = ["position", "name", "type"]


@admin.register(TestSuite)
class TestSuiteAdmin(admin.ModelAdmin):
    list_display = ["name", "created_at"]
    inlines = [MetricInline]
    readonly_fields = ["schema"]


class MachineForm(forms.ModelForm):
    class Meta:
        model = Machine
        fields = ["suite", "name", "fields", "parameters"]

    def clean_name(self) -> str:
        """The same rule as for submitted reports (names appear in URLs and paths)."""
        try:
            return check_name(
                self.cleaned_data["name"],
                "name",
                max_length=512,
                forbidden=MACHINE_NAME_FORBIDDEN,
            )
        except FormatError as exc:
            raise forms.ValidationError(exc.message) from None


@admin.register(Machine)
class MachineAdmin(BigTableAdmin):
    form = MachineForm
    list_display = ["name", "suite", "created_at"]
    list_filter = ["suite"]
    list_select_related = ["suite"]
    search_fields = ["name"]

    # Deletes go through the service, which removes what was derived (field changes,
    # emptied regressions) before the rows; see perf.services.runs.
    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        machine_delete(obj.id, user=request.user)

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        for machine_id in queryset.values_list("id", flat=True):
            machine_delete(machine_id, user=request.user)


@admin.register(Order)
class OrderAdmin(BigTableAdmin):
    list_display = ["id", "suite", "key", "position", "created_at"]
    list_filter = ["suite"]
    list_select_related = ["suite"]
    search_fields = ["key"]
    readonly_fields = ["position", "sort_key"]


@admin.register(Run)
class RunAdmin(BigTableAdmin):
    list_display = [
        "id",
        "suite",
        "machine",
        "order",
        "submitted_at",
        "source",
        "detection_state",
        "detection_attempts",
    ]
    list_filter = ["suite", "detection_state", "source"]
    list_select_related = ["suite", "machine", "order"]
    raw_id_fields = ["machine", "order"]
    # A run's place (suite, machine, order) is set by ingest; re-submit to move it.
    # Detection bookkeeping is the detection service's: use the "retry" action.
    readonly_fields = [
        "suite",
        "machine",
        "order",
        "position",
        "submitted_at",
        "detection_state",
        "detection_attempts",
        "detection_error",
        "detected_at",
        "detection_queued_at",
        "detection_next_attempt_at",
    ]
    search_fields = ["machine__name"]
    date_hierarchy = "submitted_at"
    actions = ["retry_detection"]

    @admin.action(description="Retry detection (fresh attempts) of the selected runs")
    def retry_detection(self, request: HttpRequest, queryset: Any) -> None:
        ids = list(queryset.values_list("id", flat=True))
        reset = runs_retry_detection(ids)
        queued = runs_enqueue(ids, enqueue=lambda run_id: publish(detect_run_task, run_id))
        self.message_user(
            request,
            f"{reset} run(s) given fresh detection attempts, {queued} enqueued "
            "(done runs are left as they are).",
            messages.SUCCESS,
        )

    # Deletes go through the service: derived changes removed, regressions settled,
    # the neighbours re-detected (perf.services.runs).
    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        run_delete(obj.id, redetect=enqueue_detection, user=request.user)

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        for run_id in queryset.values_list("id", flat=True):
            run_delete(run_id, redetect=enqueue_detection, user=request.user)


@admin.register(Test)
class TestAdmin(BigTableAdmin):
    list_display = ["name", "suite"]
    list_filter = ["suite"]
    list_select_related = ["suite"]
    search_fields = ["name"]


@admin.register(FieldChange)
class FieldChangeAdmin(BigTableAdmin):
    list_display = [
        "id",
        "machine",
        "test",
        "metric",
        "end_order",
        "relative_change",
        "confidence",
        "is_regression",
        "withdrawn",
    ]
    list_filter = ["is_regression", "withdrawn"]
    list_select_related = ["machine", "test", "metric", "end_order"]
    raw_id_fields = ["series", "machine", "test", "metric", "start_order", "end_order", "run"]


@admin.register(NotificationDelivery)
class NotificationDeliveryAdmin(BigTableAdmin):
    """Every delivery attempt, read-only: the record of what was sent and what failed."""

    list_display = ["id", "regression", "channel", "attempt", "outcome", "attempted_at", "error"]
    list_filter = ["outcome", "channel"]
    list_select_related = ["regression"]
    raw_id_fields = ["regression"]
    search_fields = ["regression__title"]
    date_hierarchy = "attempted_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class IndicatorInline(admin.TabularInline):
    model = RegressionIndicator
    raw_id_fields = ["field_change"]
    extra = 0


@admin.register(Regression)
class RegressionAdmin(BigTableAdmin):
    # Bug links typed without a scheme are https (Django 6 default, said explicitly).
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    list_display = ["id", "title", "suite", "state", "created_at"]
    list_filter = ["suite", "state"]
    list_select_related = ["suite"]
    raw_id_fields = ["start_order", "end_order"]
    search_fields = ["title"]
    inlines = [IndicatorInline]


@admin.register(RegressionEvent)
class RegressionEventAdmin(BigTableAdmin):
    list_display = ["regression", "user", "action", "at"]
    list_select_related = ["regression", "user"]
    raw_id_fields = ["regression"]


@admin.register(ChangeIgnore)
class ChangeIgnoreAdmin(admin.ModelAdmin):
    list_display = ["field_change", "user", "created_at"]
    raw_id_fields = ["field_change"]


@admin.register(Baseline)
class BaselineAdmin(admin.ModelAdmin):
    list_display = ["name", "suite", "order", "created_at"]
    list_select_related = ["suite"]
    raw_id_fields = ["order"]


@admin.register(SubmissionToken)
class SubmissionTokenAdmin(admin.ModelAdmin):
    """Adding a token here generates its secret and shows it once, in a message."""

    list_display = ["name", "prefix", "machine_name", "is_active", "created_at", "last_used_at"]
    list_filter = ["is_active"]
    search_fields = ["name", "machine_name"]
    fields = ["name", "machine_name", "is_active", "prefix", "created_at", "last_used_at"]
    readonly_fields = ["prefix", "created_at", "last_used_at"]

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        if not change:
            raw = token_set_secret(obj)
            super().save_model(request, obj, form, change)
            messages.warning(
                request,
                f"Token for {obj.name}: {raw} — copy it now; it is stored hashed and "
                "will not be shown again.",
            )
            return
        super().save_model(request, obj, form, change)


@admin.register(Profile)
class ProfileAdmin(BigTableAdmin):
    """Read-only: profiles come with reports (or import_lnt_db); the data stays unread."""

    list_display = ("id", "run", "test", "size", "created_at")
    list_select_related = ("run", "test")
    raw_id_fields = ("run", "test")
    exclude = ("data",)
    readonly_fields = ("size", "counters", "created_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(LntIdMap)
class LntIdMapAdmin(BigTableAdmin):
    """What import_lnt_db brought over, to find where an LNT id went (read-only)."""

    list_display = ("source", "suite", "kind", "lnt_id", "local_id")
    list_filter = ("suite", "kind")
    search_fields = ("=lnt_id", "=local_id")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

"""The lntsite schema.

Sizes this schema is designed for (PostgreSQL): 100 million sample values, tens of
thousands of orders per suite, thousands of tests per run.  Every index carries a
comment naming the query it serves.

Sample storage, long rather than wide
-------------------------------------
LNT stores samples wide: one row per (run, test) with one column per metric, which
needs DDL for every custom suite and leaves most columns NULL (a test reports two to
four of the nine ``nts`` metrics).  lntsite stores them long: one ``Point`` row per
(run, series), a series being machine x test x metric, holding that run's samples
packed (``Point.samples``, 8 bytes a Real value; ``perf.formats.samples``) beside
their summary.  One row per (run, series) rather than one per value divides the row
count by the samples-per-run factor and pays PostgreSQL's ~28-byte row overhead once
per run and series (until migration 0017 the samples had a row of their own).

Foreign keys get Django's index unless a composite index already leads with the same
column (then ``db_index=False`` and a comment say so); on the small tables (suites,
metrics, machines, orders, regressions, field changes) those indexes serve the joins and
cascades of the admin and of deletions.

Graphs and detection read the per-(run, series) aggregate (count, median, mean, min,
max, standard deviation, failure and binary hash) of ``Point``, indexed by (series,
order position) so that "the last W points of this series" is an index range scan
whatever the length of the history.  Raw samples are unpacked for one run (export,
run report) or for the window of points a detection or a graph already selected.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q

from perf.lookups import AnyOf

models.Field.register_lookup(AnyOf)
models.ForeignObject.register_lookup(AnyOf)

class TestSuite(models.Model):
    """A suite fixes which metrics tests report and which run fields form the order."""

    name = models.CharField(max_length=64, unique=True)
    # The schema document as accepted (normalised): metrics, run_fields, machine_fields.
    schema = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Metric(models.Model):
    """One metric of a suite (LNT's "sample field")."""

    REAL, HASH, STATUS = "Real", "Hash", "Status"
    TYPE_CHOICES = [(REAL, "Real"), (HASH, "Hash"), (STATUS, "Status")]

    suite = models.ForeignKey(TestSuite, on_delete=models.CASCADE, related_name="metrics")
    name = models.CharField(max_length=64)
    type = models.CharField(max_length=8, choices=TYPE_CHOICES, default=REAL)
    bigger_is_better = models.BooleanField(default=False)
    ignore_same_hash = models.BooleanField(default=False)
    display_name = models.CharField(max_length=128, blank=True)
    unit = models.CharField(max_length=32, blank=True)
    unit_abbrev = models.CharField(max_length=16, blank=True)
    # LNT's field_index: stable, new metrics are appended, used in graph/ API URLs.
    position = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["suite", "position"]
        constraints = [
            # Serves metric lookup by name during ingest and schema updates.
            models.UniqueConstraint(fields=["suite", "name"], name="metric_suite_name_uniq"),
            # Serves graph/<machine>/<test>/<field_index> lookups.
            models.UniqueConstraint(fields=["suite", "position"], name="metric_suite_pos_uniq"),
        ]

    def __str__(self) -> str:
        return f"{self.suite_id}:{self.name}"

    @property
    def label(self) -> str:
        return self.display_name or self.name


class Machine(models.Model):
    suite = models.ForeignKey(TestSuite, on_delete=models.PROTECT, related_name="machines")
    name = models.CharField(max_length=512)
    fields = models.JSONField(default=dict, blank=True)  # the suite's machine fields
    parameters = models.JSONField(default=dict, blank=True)  # free keys from reports
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            # Serves machine selection by name at every submission and machines/<name>.
            models.UniqueConstraint(fields=["suite", "name"], name="machine_suite_name_uniq"),
        ]

    def __str__(self) -> str:
        return self.name


class Order(models.Model):
    """A point on the x-axis: the values of the suite's order fields (a revision).

    ``position`` is an integer kept in the natural order of revisions.  New orders
    get a position between their neighbours (found with two indexed queries on
    ``sort_key``), with large gaps so that renumbering is rare and done by one
    UPDATE in the database; nothing ever sorts the whole table in Python.
    Revisions that are not numeric (git hashes) have no sort key and are placed
    after the last order, i.e. in arrival order.
    """

    suite = models.ForeignKey(TestSuite, on_delete=models.PROTECT, related_name="orders")
    fields = models.JSONField()  # order field name -> revision string
    key = models.CharField(max_length=512)  # the order values joined, for uniqueness
    # Zero-padded encoding of the revision's integers; sorts like the revisions.
    sort_key = models.CharField(max_length=512, null=True, blank=True)  # noqa: DJ001 - NULL: not numeric
    position = models.BigIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["suite", "position"]
        constraints = [
            # Serves order lookup by revision at every submission and orders/<rev>.
            models.UniqueConstraint(fields=["suite", "key"], name="order_suite_key_uniq"),
        ]
        indexes = [
            # Serves "orders of a suite by position" (machine pages, graphs, neighbours).
            # Not unique: renumbering shifts a range by one UPDATE, which a unique index
            # would trip over mid-statement; new orders are placed under the suite's lock.
            models.Index(fields=["suite", "position"], name="order_suite_pos_idx"),
            # Serves finding a new order's neighbours: max(sort_key) < k, min(sort_key) > k.
            models.Index(fields=["suite", "sort_key"], name="order_suite_sortkey_idx"),
        ]

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        return order_label(self.fields)


def order_label(fields: dict[str, Any]) -> str:
    """An order's revisions as shown: its field values, comma-separated."""
    return ", ".join(str(v) for v in fields.values())


class Run(models.Model):
    PENDING, DONE, FAILED = "pending", "done", "failed"
    DETECTION_CHOICES = [(PENDING, "pending"), (DONE, "done"), (FAILED, "failed")]

    suite = models.ForeignKey(TestSuite, on_delete=models.PROTECT, related_name="runs")
    machine = models.ForeignKey(Machine, on_delete=models.CASCADE, related_name="runs")
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="runs")
    position = models.BigIntegerField()  # copy of order.position, for the index below
    start_time = models.DateTimeField()
    end_time = models.DateTimeField()
    submitted_at = models.DateTimeField(auto_now_add=True)
    run_fields = models.JSONField(default=dict, blank=True)  # the suite's run fields
    parameters = models.JSONField(default=dict, blank=True)  # free keys (build log, ...)
    source = models.CharField(max_length=32)  # submitRun, api, import_run, demo
    source_detail = models.CharField(max_length=512, blank=True)  # file name, token name
    detection_state = models.CharField(max_length=8, choices=DETECTION_CHOICES, default=PENDING)
    detection_attempts = models.PositiveIntegerField(default=0)
    detection_error = models.TextField(blank=True)
    detected_at = models.DateTimeField(null=True, blank=True)
    # Set (by a conditional UPDATE) when a detection task is published for the run,
    # cleared when an attempt ends: the sweep never publishes a queued run twice, and
    # takes it again only when this is older than PERF_DETECTION_QUEUED_TIMEOUT_SECONDS
    # (the message was lost).
    detection_queued_at = models.DateTimeField(null=True, blank=True)
    # After a failed attempt: not before this time (exponential back-off between sweeps).
    detection_next_attempt_at = models.DateTimeField(null=True, blank=True)
    # The lease of the worker detecting the run: set when a task starts on it, renewed
    # while it works, cleared when the attempt ends.  Tells a run waiting in the queue
    # (queued, no lease) from one whose worker died (lease older than
    # PERF_DETECTION_LEASE_SECONDS), and keeps a second copy of its message idle.
    detection_started_at = models.DateTimeField(null=True, blank=True)
    # perf.formats.report_digest of the report this run was stored from, so that a
    # client's retry of the identical report is answered with this run (no 409, no
    # second run).  Looked up through run_machine_order_idx; empty for older runs.
    report_digest = models.CharField(max_length=64, blank=True, default="")

    class Meta:
        ordering = ["-id"]
        indexes = [
            # Serves the duplicate check (same machine and order) and a machine's runs
            # by order, and "previous run of this machine" for run reports.
            models.Index(fields=["machine", "order"], name="run_machine_order_idx"),
            # Serves detection windows: a machine's orders just before / after a
            # position (ORDER BY position LIMIT n), whatever the length of its history.
            models.Index(fields=["machine", "position"], name="run_machine_position_idx"),
            # Serves the home page's recent runs per suite.
            models.Index(fields=["suite", "-submitted_at"], name="run_suite_recent_idx"),
            # Serves the daily report by run date: a suite's runs that started in a
            # window, and the day of its newest run (max(start_time)).
            models.Index(fields=["suite", "start_time"], name="run_suite_start_idx"),
            # Serves the pending-detection sweep; partial, so it stays tiny.
            models.Index(
                fields=["detection_state"],
                name="run_detection_todo_idx",
                condition=Q(detection_state__in=["pending", "failed"]),
            ),
        ]

    def __str__(self) -> str:
        return f"Run {self.pk}"


class Test(models.Model):
    suite = models.ForeignKey(TestSuite, on_delete=models.PROTECT, related_name="tests")
    name = models.CharField(max_length=512)

    class Meta:
        ordering = ["name"]
        constraints = [
            # Serves test lookup by name at every submission and search by name prefix.
            models.UniqueConstraint(fields=["suite", "name"], name="test_suite_name_uniq"),
        ]

    def __str__(self) -> str:
        return self.name


class Series(models.Model):
    """One machine x test x metric: the unit of graphs and of detection."""

    # Keys checked by their writers, not the database (db_constraint=False, as for
    # Point): ingest and import_lnt_db create series for the machine they locked, the
    # tests they just read or created and the suite's metrics, in one transaction;
    # deletes go through Django's collector, which applies CASCADE and PROTECT itself.
    # A machine's first 90,000-test report creates 360,000 series, and their deferred
    # key checks (three per row) cost PostgreSQL ~3 s at commit (README "Big reports").
    # No index of their own on machine or test: the unique index below leads with
    # machine, and series_test_idx serves test.  None on metric either (migration
    # 0020): every read that names a series' metric also names its tests (served by
    # series_test_idx) or reaches series through points (the primary key), metrics are
    # never deleted, and inserting a new machine's 360,000 series into it cost
    # PostgreSQL ~0.5 CPU s (bench/series_insert_cost.py, README "Big reports").
    machine = models.ForeignKey(
        Machine,
        on_delete=models.CASCADE,
        related_name="series",
        db_index=False,
        db_constraint=False,
    )
    test = models.ForeignKey(
        Test, on_delete=models.PROTECT, related_name="series", db_index=False, db_constraint=False
    )
    metric = models.ForeignKey(
        Metric,
        on_delete=models.PROTECT,
        related_name="series",
        db_index=False,
        db_constraint=False,
    )

    class Meta:
        constraints = [
            # Serves the series lookup of every submission (all series of one machine)
            # and graph/<machine>/<test>/<field>.
            models.UniqueConstraint(
                fields=["machine", "test", "metric"], name="series_machine_test_metric_uniq"
            ),
        ]
        indexes = [
            # Serves "which machines ran this test" (test pages, graph form).
            models.Index(fields=["test"], name="series_test_idx"),
        ]

    def __str__(self) -> str:
        return f"Series {self.pk}"


class CoveringUniqueConstraint(models.UniqueConstraint):
    """A unique constraint whose index carries non-key columns (``include``) where the
    database has covering indexes (PostgreSQL), and a plain unique constraint on the
    same fields where it has not (SQLite, the embedded default) -- where Django's own
    would create nothing at all (its check models.W039)."""

    def _plain(self, connection: Any) -> models.UniqueConstraint | None:
        if self.include and not connection.features.supports_covering_indexes:
            return models.UniqueConstraint(fields=self.fields, name=self.name)
        return None

    def constraint_sql(self, model: Any, schema_editor: Any) -> Any:
        plain = self._plain(schema_editor.connection)
        if plain is not None:
            return plain.constraint_sql(model, schema_editor)
        return super().constraint_sql(model, schema_editor)

    def create_sql(self, model: Any, schema_editor: Any) -> Any:
        plain = self._plain(schema_editor.connection)
        if plain is not None:
            return plain.create_sql(model, schema_editor)
        return super().create_sql(model, schema_editor)

    def remove_sql(self, model: Any, schema_editor: Any) -> Any:
        plain = self._plain(schema_editor.connection)
        if plain is not None:
            return plain.remove_sql(model, schema_editor)
        return super().remove_sql(model, schema_editor)

    def _check(self, model: Any, connection: Any) -> list[Any]:
        return [e for e in super()._check(model, connection) if e.id != "models.W039"]


class Point(models.Model):
    """Per-(run, series) aggregate of the samples: what graphs and detection read.

    For Real metrics ``value`` is the median of the samples; for Status metrics the
    worst status; for Hash metrics it is NULL and ``hash`` holds the value.
    ``failed`` is set when the test's matching ``<metric>_status`` said FAIL in
    this run: the value is then not a valid measurement.  ``hash`` on a Real point
    is the binary hash the test reported in the same run (for ignore_same_hash).
    """

    # run and series need no index of their own: the unique (run, series) and the
    # (series, position) indexes below lead with them.
    # The keys of this hot table are checked by its one writer, not by the database
    # (db_constraint=False; see docs/performance.md): ingest and import_lnt_db create
    # or lock the run, series and order in the same transaction before they COPY the
    # rows, and every delete goes through Django's collector (perf/services/runs.py),
    # which removes these rows with their run or series.
    run = models.ForeignKey(
        Run, on_delete=models.CASCADE, related_name="points", db_index=False, db_constraint=False
    )
    series = models.ForeignKey(
        Series,
        on_delete=models.CASCADE,
        related_name="points",
        db_index=False,
        db_constraint=False,
    )
    # Always the order of the point's run: no index and no check of its own.  A point
    # lives and dies with its run, and the run's PROTECT already keeps its order from
    # being deleted; renumbering finds the points of moved orders through their runs.
    order = models.ForeignKey(
        Order, on_delete=models.DO_NOTHING, related_name="+", db_index=False, db_constraint=False
    )
    position = models.BigIntegerField()  # copy of order.position, for the index below
    count = models.PositiveIntegerField()  # samples reported
    valid_count = models.PositiveIntegerField(default=0)  # of which valid (status not FAIL)
    value = models.FloatField(null=True)
    mean = models.FloatField(null=True)
    minimum = models.FloatField(null=True)
    maximum = models.FloatField(null=True)
    stdev = models.FloatField(null=True)
    failed = models.BooleanField(default=False)
    hash = models.CharField(max_length=256, null=True, blank=True)  # noqa: DJ001 - NULL: none
    # The raw samples the summary above was computed from, in reported order, packed
    # by perf.formats.samples (25 bytes for three Real samples; read back with
    # unpack_samples).  Empty list (the tag alone) for points that had no sample row
    # before the samples moved here (migration 0016).
    samples = models.BinaryField()

    class Meta:
        constraints = [
            # Serves a run's report (all points of one run) and deleting a run's points.
            # Covering: global status and the latest runs report read value, failed and
            # hash of two runs' points per machine (tens of thousands of rows) from the
            # index alone (an index-only scan), not one heap page per point.
            CoveringUniqueConstraint(
                fields=["run", "series"],
                name="point_run_series_uniq",
                include=["value", "failed", "hash"],
            ),
        ]
        indexes = [
            # Serves graphs and detection windows: points of a series by position.
            # Covering: the run report reads the 20-run window of every compared series
            # (value, failed and the newest point's run; selectors.runs.series_history)
            # from the index alone (an index-only scan), not one heap page a point.
            # SQLite has no covering indexes: a plain index there (its check W040 is
            # silenced in settings).
            models.Index(
                fields=["series", "position"],
                name="point_series_position_idx",
                include=["value", "failed", "run"],
            ),
        ]

    def __str__(self) -> str:
        return f"Point run={self.run_id} series={self.series_id}"


class RunGeomean(models.Model):
    """Geometric mean of one run's values of one Real metric, over the run's tests.

    Only valid (not failed), positive values count; ``tests`` says how many did.
    Written with the run's points by ingest (``services.geomeans``), so that LNT's
    ``mean=<machine>.<field>`` graph reads one row per run instead of every point
    of a machine's history (2,000 tests x 400 orders would be 800,000 rows).
    """

    # No index of its own on run: the unique (run, metric) index below leads with it.
    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="+", db_index=False)
    # Indexed (Django's default): serves the cascade when a metric is deleted.
    metric = models.ForeignKey(Metric, on_delete=models.CASCADE, related_name="+")
    value = models.FloatField()
    tests = models.PositiveIntegerField()

    class Meta:
        constraints = [
            # Serves the idempotent upsert at ingest and the mean graph, which joins
            # a machine's runs (by the run (machine, position) index) to this.
            models.UniqueConstraint(fields=["run", "metric"], name="rungeomean_run_metric_uniq"),
        ]

    def __str__(self) -> str:
        return f"Geomean run={self.run_id} metric={self.metric_id}"


class RunValues(models.Model):
    """One run's values of one metric, every test of the run at once, packed.

    ``tests``: the test ids, ascending, as big-endian int64; ``values``: each test's
    ``Point.value`` at the same place, big-endian float64, NaN where the point failed
    or has no value.  Written with the run's points by ingest (``services.runvalues``),
    so that global status compares two runs by reading two rows instead of their
    points through the (run, series) index, which holds both metrics (89,000 entries
    for 21 machines' newest two runs at scale 1), and detection reads a window of
    runs as ~120 rows instead of ~590,000 points.  A run without a row here is read
    from its points (``selectors.overview``, ``services.detection``): the rows are a
    copy, never the truth.
    """

    # No index of its own on run: the unique (run, metric) index below leads with it.
    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="+", db_index=False)
    # Indexed (Django's default): serves the cascade when a metric is deleted.
    metric = models.ForeignKey(Metric, on_delete=models.CASCADE, related_name="+")
    tests = models.BinaryField()
    values = models.BinaryField()
    # For detection, which reads its window of runs from these rows: at the places of
    # ``tests``, the mean its screen uses (``formats.run_values.level_mean``, big-endian
    # float64) and the point's sample count (big-endian int32).  NULL in a row written
    # before they existed: detection reads that run's points instead.
    means = models.BinaryField(null=True)
    counts = models.BinaryField(null=True)

    class Meta:
        constraints = [
            # Serves the upsert at ingest and global status, which reads the rows of
            # its runs (a few dozen) for one metric.
            models.UniqueConstraint(fields=["run", "metric"], name="runvalues_run_metric_uniq"),
        ]

    def __str__(self) -> str:
        return f"Values run={self.run_id} metric={self.metric_id}"


class FieldChange(models.Model):
    """A change point found in one series: the level moved at ``end_order``."""

    # ``method`` of the changes LNT recorded (``import_lnt_db``); detection never
    # withdraws them (LNT's users triaged them) but updates one it finds too.
    IMPORTED = "lnt"
    # ``method`` of a change a person made from a graph point (``regression_from_point``).
    MANUAL = "manual"
    # Changes people vouched for: detection updates them but never withdraws them.
    KEPT_METHODS = (IMPORTED, MANUAL)

    series = models.ForeignKey(Series, on_delete=models.CASCADE, related_name="changes")
    machine = models.ForeignKey(Machine, on_delete=models.CASCADE, related_name="+")
    test = models.ForeignKey(Test, on_delete=models.PROTECT, related_name="+")
    metric = models.ForeignKey(Metric, on_delete=models.PROTECT, related_name="+")
    start_order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="+")
    end_order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="+")
    end_position = models.BigIntegerField()  # copy of end_order.position
    old_value = models.FloatField()
    new_value = models.FloatField()
    relative_change = models.FloatField()  # (new - old) / |old|, signed
    confidence = models.FloatField()  # 0..1
    is_regression = models.BooleanField()
    method = models.CharField(max_length=64)
    parameters = models.JSONField(default=dict, blank=True)
    run = models.ForeignKey(
        Run, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )  # the run whose detection found it
    withdrawn = models.BooleanField(default=False)  # later data did not confirm it
    # False for a suspect: seen on the newest run alone (several samples, strong
    # evidence); the next runs confirm it or withdraw it.  Suspects are not notified.
    confirmed = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            # Idempotency: one change per series and order, whatever the worker count.
            # Also serves "changes of this series" for graph markers.
            models.UniqueConstraint(
                fields=["series", "end_order"], name="fieldchange_series_order_uniq"
            ),
        ]
        indexes = [
            # Serves detection's withdrawal pass: changes of a series in a position range.
            models.Index(fields=["series", "end_position"], name="fc_series_pos_idx"),
            # Serves the daily report and the home page: recent changes.
            models.Index(fields=["-created_at"], name="fc_recent_idx"),
        ]

    def __str__(self) -> str:
        return f"Change {self.pk} series={self.series_id}"


class Regression(models.Model):
    """Related field changes grouped for triage, with LNT's states."""

    DETECTED, STAGED, ACTIVE, NTBF, IGNORED, FIXED, VERIFY = 0, 1, 10, 20, 21, 22, 23
    STATE_CHOICES = [
        (DETECTED, "Detected"),
        (STAGED, "Staged"),
        (ACTIVE, "Active"),
        (NTBF, "Not to be fixed"),
        (IGNORED, "Ignored"),
        (FIXED, "Fixed"),
        (VERIFY, "Verify"),
    ]
    OPEN_STATES = (DETECTED, STAGED, ACTIVE, VERIFY)

    suite = models.ForeignKey(TestSuite, on_delete=models.PROTECT, related_name="regressions")
    title = models.CharField(max_length=512)
    bug = models.URLField(max_length=512, blank=True)
    state = models.PositiveSmallIntegerField(choices=STATE_CHOICES, default=DETECTED)
    # The order range spanned by the grouped changes (from the earliest change's start
    # to the latest change's end): the bad commit lies in (start, end].
    start_order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="+")
    end_order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="+")
    # Copies of start_order.position and end_order.position (kept in step by ingest's
    # renumbering), for the overlap index below.
    start_position = models.BigIntegerField(default=0)
    end_position = models.BigIntegerField(default=0)
    notified = models.BooleanField(default=False)  # every configured channel delivered
    # When the notification task is next expected to run (set when it is enqueued or
    # scheduled for a retry); NULL: never enqueued.  The sweep re-enqueues one that is
    # long overdue (its message was lost).
    notify_due_at = models.DateTimeField(null=True, blank=True)
    # A channel gave up after PERF_NOTIFY_MAX_ATTEMPTS failed deliveries.
    notify_failed = models.BooleanField(default=False)
    notes = models.TextField(blank=True)  # free text for the people triaging
    # Who is looking at it.  The FK's own index serves the list's "assigned to me".
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            # Serves the regression list filtered by state, newest first.
            models.Index(fields=["suite", "state", "-created_at"], name="regression_state_idx"),
            # Serves grouping: the open regressions whose range overlaps a change's,
            # end_position > change start AND start_position < change end; partial, so
            # the scan only meets open regressions near the head of history.
            models.Index(
                fields=["suite", "end_position", "start_position"],
                name="regression_open_range_idx",
                condition=Q(state__in=[0, 1, 10, 23]),  # OPEN_STATES
            ),
        ]

    def __str__(self) -> str:
        return self.title


class NotificationDelivery(models.Model):
    """One attempt to deliver a regression's notification on one channel.

    The row is written (outcome ``sending``) before the message goes out: the unique
    (regression, channel, attempt) constraint lets only one worker make an attempt, and
    at most one row per (regression, channel) may be ``ok``, so a delivered channel is
    never sent again.  ``target`` and ``error`` never hold credentials (see
    ``perf.services.notifications.redact``).
    """

    EMAIL, WEBHOOK = "email", "webhook"
    CHANNEL_CHOICES = [(EMAIL, "e-mail"), (WEBHOOK, "webhook")]
    SENDING, OK, FAILED = "sending", "ok", "failed"
    OUTCOME_CHOICES = [(SENDING, "sending"), (OK, "ok"), (FAILED, "failed")]

    # No index of its own: the unique (regression, channel, attempt) index leads with it.
    regression = models.ForeignKey(
        Regression, on_delete=models.CASCADE, related_name="deliveries", db_index=False
    )
    channel = models.CharField(max_length=8, choices=CHANNEL_CHOICES)
    attempt = models.PositiveSmallIntegerField()  # 1, 2, ... per regression and channel
    attempted_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=8, choices=OUTCOME_CHOICES, default=SENDING)
    target = models.CharField(max_length=512, blank=True)  # recipients or redacted URL
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-attempted_at", "-id"]
        constraints = [
            # One worker per attempt; serves a regression's deliveries by channel.
            models.UniqueConstraint(
                fields=["regression", "channel", "attempt"], name="delivery_attempt_uniq"
            ),
            # A channel is delivered at most once per regression.
            models.UniqueConstraint(
                fields=["regression", "channel"],
                condition=Q(outcome="ok"),
                name="delivery_ok_once_uniq",
            ),
        ]
        indexes = [
            # Serves the admin's delivery list filtered by outcome, newest first.
            models.Index(fields=["outcome", "-attempted_at"], name="delivery_outcome_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.channel} #{self.attempt} for regression {self.regression_id}"


class RegressionIndicator(models.Model):
    regression = models.ForeignKey(Regression, on_delete=models.CASCADE, related_name="indicators")
    # A field change belongs to at most one regression (unique: grouping is idempotent).
    field_change = models.OneToOneField(
        FieldChange, on_delete=models.CASCADE, related_name="indicator"
    )

    def __str__(self) -> str:
        return f"Indicator {self.regression_id}:{self.field_change_id}"


class RegressionEvent(models.Model):
    """Audit history of a regression: who changed what, and when."""

    regression = models.ForeignKey(Regression, on_delete=models.CASCADE, related_name="events")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    at = models.DateTimeField(auto_now_add=True)
    action = models.CharField(max_length=32)  # created, state, title, bug, merge, split
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.action} on regression {self.regression_id}"


class ChangeIgnore(models.Model):
    """A field change a person marked as not worth reporting."""

    field_change = models.OneToOneField(
        FieldChange, on_delete=models.CASCADE, related_name="ignore"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    reason = models.CharField(max_length=512, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"Ignore change {self.field_change_id}"


class Baseline(models.Model):
    """A named order of a suite (LNT's baseline): runs are compared against the same
    machine's run at this order, and graphs draw the series' value there."""

    suite = models.ForeignKey(TestSuite, on_delete=models.CASCADE, related_name="baselines")
    name = models.CharField(max_length=128)
    # Indexed (Django's default): serves "the baselines this order is" and order deletes.
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="baselines")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            # Serves baseline lookup by name on run reports.
            models.UniqueConstraint(fields=["suite", "name"], name="baseline_suite_name_uniq"),
        ]

    def __str__(self) -> str:
        return self.name


class SubmissionToken(models.Model):
    """A secret that lets a build bot submit.  Only its SHA-256 is stored."""

    name = models.CharField(max_length=128, unique=True)
    key_hash = models.CharField(max_length=64, unique=True)  # serves token lookup
    prefix = models.CharField(max_length=12)  # first characters, to recognise a token
    machine_name = models.CharField(
        max_length=512, blank=True, help_text="If set, the token may only submit this machine."
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class Profile(models.Model):
    """One test's profile in one run, as the client sent it (opaque bytes, zlib-compressed).

    LNT's profile formats (v1 pickles, v2 binary) are kept unread: another page renders
    them.  ``size`` is the uncompressed length in bytes.
    """

    # No index of its own on run: the unique (run, test) index below serves it.
    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="profiles", db_index=False)
    # Indexed (Django's default): serves the PROTECT check when a test is deleted.
    test = models.ForeignKey(Test, on_delete=models.PROTECT, related_name="+")
    data = models.BinaryField()
    size = models.PositiveIntegerField()
    counters = models.JSONField(default=dict, blank=True)  # LNT's top-level counters
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            # Serves listing a run's profiles (run page, API) and downloading one.
            models.UniqueConstraint(fields=["run", "test"], name="profile_run_test_uniq"),
        ]

    def __str__(self) -> str:
        return f"Profile run={self.run_id} test={self.test_id}"


class LntIdMap(models.Model):
    """What ``import_lnt_db`` brought over: an LNT row's id -> the local row's id.

    Makes imports idempotent and resumable (a row in the map is done) and lets LNT's
    old links (ids per suite) find rows whose id could not be kept (ids are global here).
    ``kind`` is machine, order, test, run, fieldchange, regression, baseline, profile,
    field (LNT's field index -> metric id).
    """

    source = models.CharField(max_length=255)  # the LNT database, e.g. sqlite:/path
    suite = models.CharField(max_length=64)
    kind = models.CharField(max_length=16)
    lnt_id = models.BigIntegerField()
    local_id = models.BigIntegerField()

    class Meta:
        constraints = [
            # Serves the importer's "already done?" lookups, per chunk of LNT ids.
            models.UniqueConstraint(
                fields=["source", "suite", "kind", "lnt_id"], name="lntidmap_source_uniq"
            ),
        ]
        indexes = [
            # Serves old-link redirects: (suite, kind, LNT id) whatever the source.
            models.Index(fields=["suite", "kind", "lnt_id"], name="lntidmap_link_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.suite} {self.kind} {self.lnt_id} -> {self.local_id}"

"""ingest.insert_rows: what goes in comes back, on the INSERT and the COPY paths alike."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from perf.formats.samples import pack_samples
from perf.models import Point, Run, RunValues
from perf.services import ingest
from tests.factories import report_doc, submit_doc

pytestmark = pytest.mark.django_db


def awkward_rows(run, series_ids, *, empty_hash):
    """Point rows with NULLs, NaN-free floats, booleans, hashes full of CSV syntax and
    packed samples of every kind."""
    hashes = ["a,b", 'say "hi"', "line\nbreak", "back\\slash", "tab\there", None]
    samples = [
        pack_samples("Real", [1.5, 1e-300, -0.0]),
        pack_samples("Status", [0, 2]),
        pack_samples("Hash", ['x"y', "a,b\n\\"]),
    ]
    if empty_hash:
        hashes.append("")
    return [
        (
            run.id,
            s,
            run.order_id,
            run.position,
            3,
            2,
            1.0 / (i + 3),
            None if i % 2 else 0.1 + i,
            1e-300,
            1e300,
            None,
            i % 3 == 0,
            hashes[i % len(hashes)],
            samples[i % len(samples)],
        )  # fmt: skip
        for i, s in enumerate(series_ids)
    ]


@pytest.mark.parametrize("empty_hash", [False, True])
def test_rows_come_back_unchanged_whatever_their_number_and_content(empty_hash):
    result = submit_doc(
        report_doc(
            tests={f"t{i}": {"execution_time": [1.0]} for i in range(ingest.COPY_MIN_ROWS + 5)}
        )
    )
    run = Run.objects.get(id=result.run_id)
    series_ids = list(Point.objects.filter(run=run).values_list("series_id", flat=True))
    Point.objects.filter(run=run).delete()
    points = awkward_rows(run, series_ids, empty_hash=empty_hash)

    ingest.insert_rows(Point, ingest.POINT_COLUMNS, points)

    stored = {
        row[1]: (*row[:-1], bytes(row[-1]))  # bytea comes back as a memoryview
        for row in Point.objects.filter(run=run).values_list(*ingest.POINT_COLUMNS)
    }
    assert [stored[row[1]] for row in points] == points


def test_point_rows_go_in_with_one_binary_copy_on_postgresql():
    if connection.vendor != "postgresql":
        pytest.skip("COPY is PostgreSQL's")
    result = submit_doc(report_doc(tests={f"t{i}": {"execution_time": [1.0]} for i in range(600)}))
    run = Run.objects.get(id=result.run_id)
    series_ids = list(Point.objects.filter(run=run).values_list("series_id", flat=True))
    Point.objects.filter(run=run).delete()
    with CaptureQueriesContext(connection) as queries:
        ingest.insert_rows(
            Point, ingest.POINT_COLUMNS, awkward_rows(run, series_ids, empty_hash=True)
        )
    assert [q["sql"].split(" FROM STDIN ")[1] for q in queries] == ["WITH (FORMAT binary)"]
    assert Point.objects.filter(run=run, hash="").exists()  # not NULL, as CSV would make it


def test_a_model_with_a_column_binary_copy_cannot_encode_has_no_encoders():
    if connection.vendor != "postgresql":
        pytest.skip("the types are PostgreSQL's")
    assert ingest._binary_encoders(Run, ["id", "run_fields"]) is None
    assert ingest._binary_encoders(Point, ingest.POINT_COLUMNS) == ingest.POINT_ENCODERS


def test_the_run_values_encoders_are_those_of_their_columns():
    if connection.vendor != "postgresql":
        pytest.skip("the types are PostgreSQL's")
    assert (
        ingest._binary_encoders(RunValues, ingest.RUN_VALUES_COLUMNS)
        == ingest.RUN_VALUES_ENCODERS
    )


@pytest.mark.parametrize("size", [1, 5, 64, -1])
def test_the_line_reader_hands_over_every_line_whole_and_as_much_as_asked(size):
    lines = [f"{i}\t{'x' * (i % 7)}\n".encode() for i in range(50)]
    reader = ingest._LineReader(iter(lines))
    pieces = []
    while piece := reader.read(size):
        pieces.append(piece)
    assert b"".join(pieces) == b"".join(lines)
    assert all(p.endswith(b"\n") for p in pieces)
    assert size < 0 or all(len(p) >= size for p in pieces[:-1])

"""Triage services: merge and split keep each regression's order range true."""

import pytest

from perf.services.triage import regression_merge, regression_split
from tests.factories import make_field_change, make_regression, make_user, submit_grid

pytestmark = pytest.mark.django_db


def revisions(regression) -> tuple[str, str]:
    regression.refresh_from_db()
    return (
        regression.start_order.fields["llvm_project_revision"],
        regression.end_order.fields["llvm_project_revision"],
    )


def test_merge_widens_the_target_range_and_split_refits_both():
    submit_grid(machines=1, tests=2, orders=6)
    early = make_field_change(machine="box-0", test="suite/t0", at_revision=1002)
    late = make_field_change(machine="box-0", test="suite/t1", at_revision=1005)
    first, second = make_regression([early]), make_regression([late])
    user = make_user()
    assert revisions(first) == ("1001", "1002")
    regression_merge(first.id, [second.id], user=user)
    assert revisions(first) == ("1001", "1005")
    new = regression_split(first.id, [late.id], user=user)
    assert revisions(new) == ("1004", "1005")
    assert revisions(first) == ("1001", "1002")

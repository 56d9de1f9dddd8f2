"""Named locks that writers of one suite take, apart from its rows.

Regressions are created and filled under the suite's *grouping lock*: detection's
grouping, triage by people, and the removal of changes (deletes, merges,
``merge=replace``) take it, so a change is never put in two regressions and no
regression is built from a change being removed.  It is not the suite's row lock,
which ingest holds while it creates a machine or an order (to the end of the
submission's transaction): grouping used to take that row, so a submission of a
new order waited behind every grouping in the suite, and each grouping behind every
such submission, until, under load, the statement timeout answered 503 (issue #9).
"""

from __future__ import annotations

from django.db import connection

# The first key of pg_advisory_xact_lock(int, int): which kind of lock; the second is
# the suite's id.  Advisory locks are database-wide; another kind would use another
# constant here.
GROUPING_LOCK = 0x4C4E5401  # "LNT" 1


def suite_grouping_lock(suite_id: int) -> None:
    """Take the suite's grouping lock until the current transaction ends; waits for
    the holder (bounded by the statement timeout).

    PostgreSQL: a transaction-scoped advisory lock.  SQLite: nothing to do, every
    write transaction already holds the database's single write lock from its BEGIN
    (``transaction_mode=IMMEDIATE`` in settings).  Outside a transaction it would be
    released at once, so that is refused.
    """
    if not connection.in_atomic_block:
        raise RuntimeError("suite_grouping_lock must be taken inside transaction.atomic()")
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        # Both keys are int4: a suite id past 2**31 shares a key with another suite,
        # which only serialises the two.
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [GROUPING_LOCK, suite_id % 2**31])

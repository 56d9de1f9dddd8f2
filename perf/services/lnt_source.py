"""Reading an LNT database (LNT 0.4.x, schema level 18) through any DB-API connection.

No Django here: the same code reads an SQLite file (``sqlite3``) and a PostgreSQL
database (``psycopg2``).  Only SQL both understand is used: double-quoted identifiers
taken from LNT's own ``TestSuite*`` tables and integers formatted into keyset
conditions (``"ID" > n ORDER BY "ID" LIMIT k``), so no placeholders differ between
drivers and every big table is read in bounded chunks.

LNT's layout (``lnt/server/db/testsuitedb.py``): global ``TestSuite``,
``TestSuiteSampleFields`` (a suite's metrics; LNT's field index is the position in
this table ordered by ``ID``), ``TestSuiteOrderFields`` / ``RunFields`` /
``MachineFields``, ``TestSuiteJSONSchemas``; per suite, prefixed ``<DBKeyName>_``:
``Machine``, ``Order`` (a linked list by ``NextOrder``/``PreviousOrder``), ``Run``,
``Test``, ``Sample`` (one row per sample index, one column per metric, NULL = not
reported), ``Profile``, ``FieldChangeV2``, ``Regression``, ``RegressionIndicator``,
``ChangeIgnore``, ``Baseline``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

SAMPLE_TYPES = {1: "Real", 2: "Status", 3: "Hash"}  # LNT's SampleType ids


@dataclass(frozen=True)
class LntField:
    lnt_id: int
    name: str
    type: str  # Real, Status, Hash
    index: int  # LNT's field index: position among the suite's sample fields by ID
    bigger_is_better: bool = False
    ignore_same_hash: bool = False
    display_name: str = ""
    unit: str = ""
    unit_abbrev: str = ""


@dataclass(frozen=True)
class LntSuite:
    lnt_id: int
    name: str
    prefix: str  # table prefix: DBKeyName (``NT`` for nts)
    order_fields: tuple[str, ...]
    run_fields: tuple[str, ...]
    machine_fields: tuple[str, ...]
    fields: tuple[LntField, ...]


@dataclass(frozen=True)
class LntMachine:
    lnt_id: int
    name: str
    fields: dict[str, str]
    parameters: dict[str, Any]


@dataclass(frozen=True)
class LntOrder:
    lnt_id: int
    fields: dict[str, str]


@dataclass(frozen=True)
class LntRun:
    lnt_id: int
    machine_id: int
    order_id: int
    imported_from: str
    start_time: datetime | None
    end_time: datetime | None
    fields: dict[str, str]
    parameters: dict[str, Any]


@dataclass(frozen=True)
class LntFieldChange:
    lnt_id: int
    old_value: float
    new_value: float
    start_order_id: int
    end_order_id: int
    test_id: int
    machine_id: int
    field_id: int  # TestSuiteSampleFields.ID
    run_id: int | None


@dataclass(frozen=True)
class LntRegression:
    lnt_id: int
    title: str
    bug: str
    state: int
    field_change_ids: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class LntProfile:
    lnt_id: int
    filename: str
    counters: dict[str, float]


class LntSource:
    """A read-only view of one LNT database over a DB-API connection.

    ``dialect`` is ``sqlite`` or ``postgresql`` (only catalogue queries differ).
    """

    def __init__(self, connection: Any, dialect: str) -> None:
        if dialect not in ("sqlite", "postgresql"):
            raise ValueError(f"unknown dialect {dialect!r}")
        self.connection = connection
        self.dialect = dialect
        self._tables: set[str] | None = None
        self._columns: dict[str, list[str]] = {}

    # --- catalogue ---------------------------------------------------------------------

    def _rows(self, sql: str) -> list[tuple[Any, ...]]:
        cursor = self.connection.cursor()
        try:
            cursor.execute(sql)
            return list(cursor.fetchall())
        finally:
            cursor.close()

    def tables(self) -> set[str]:
        if self._tables is None:
            if self.dialect == "sqlite":
                sql = "SELECT name FROM sqlite_master WHERE type = 'table'"
            else:
                sql = (
                    "SELECT table_name FROM information_schema.tables "
                    "WHERE table_schema = current_schema()"
                )
            self._tables = {r[0] for r in self._rows(sql)}
        return self._tables

    def columns(self, table: str) -> list[str]:
        if table not in self._columns:
            if self.dialect == "sqlite":
                cols = [r[1] for r in self._rows(f"PRAGMA table_info({_q(table)})")]
            else:
                cols = [
                    r[0]
                    for r in self._rows(
                        "SELECT column_name FROM information_schema.columns WHERE "  # noqa: S608 - quoted literal
                        f"table_schema = current_schema() AND table_name = {_lit(table)} "
                        "ORDER BY ordinal_position"
                    )
                ]
            self._columns[table] = cols
        return self._columns[table]

    def has(self, suite: LntSuite, table: str) -> bool:
        return f"{suite.prefix}_{table}" in self.tables()

    def is_lnt(self) -> bool:
        return {"TestSuite", "TestSuiteSampleFields"} <= self.tables()

    # --- suites ------------------------------------------------------------------------

    def suites(self) -> list[LntSuite]:
        """Every suite with its fields; metrics in LNT's field-index order."""
        json_schemas: dict[str, dict[str, Any]] = {}
        if "TestSuiteJSONSchemas" in self.tables():
            for name, doc in self._rows(
                'SELECT "TestSuiteName", "JSONSchema" FROM "TestSuiteJSONSchemas"'
            ):
                try:
                    json_schemas[name] = json.loads(_text(doc))
                except ValueError:
                    continue  # the tables below say the same, minus display names
        field_cols = self.columns("TestSuiteSampleFields")
        extra = [
            c for c in ("status_field", "bigger_is_better", "ignore_same_hash") if c in field_cols
        ]
        sample_rows = self._rows(
            'SELECT "ID", "TestSuiteID", "Name", "Type"'  # noqa: S608 - known column names
            + "".join(f", {_q(c)}" for c in extra)
            + ' FROM "TestSuiteSampleFields" ORDER BY "ID"'
        )
        suites = []
        for suite_id, name, prefix in self._rows(
            'SELECT "ID", "Name", "DBKeyName" FROM "TestSuite" ORDER BY "ID"'
        ):
            doc_metrics = {
                m.get("name"): m
                for m in json_schemas.get(name, {}).get("metrics", [])
                if isinstance(m, dict)
            }
            fields: list[LntField] = []
            for row in (r for r in sample_rows if r[1] == suite_id):
                flags = dict(zip(extra, row[4:], strict=True))
                spec = doc_metrics.get(row[2], {})
                fields.append(
                    LntField(
                        lnt_id=row[0],
                        name=row[2],
                        type=SAMPLE_TYPES.get(row[3], "Real"),
                        index=len(fields),
                        bigger_is_better=bool(
                            flags.get("bigger_is_better") or spec.get("bigger_is_better")
                        ),
                        ignore_same_hash=bool(
                            flags.get("ignore_same_hash") or spec.get("ignore_same_hash")
                        ),
                        display_name=spec.get("display_name") or "",
                        unit=spec.get("unit") or "",
                        unit_abbrev=spec.get("unit_abbrev") or "",
                    )
                )
            suites.append(
                LntSuite(
                    lnt_id=suite_id,
                    name=name,
                    prefix=prefix,
                    order_fields=self._names("TestSuiteOrderFields", suite_id, ordinal=True),
                    run_fields=self._names("TestSuiteRunFields", suite_id),
                    machine_fields=self._names("TestSuiteMachineFields", suite_id),
                    fields=tuple(fields),
                )
            )
        return suites

    def _names(self, table: str, suite_id: int, *, ordinal: bool = False) -> tuple[str, ...]:
        if table not in self.tables():
            return ()
        order = '"Ordinal", "ID"' if ordinal else '"ID"'
        return tuple(
            r[0]
            for r in self._rows(
                f'SELECT "Name" FROM {_q(table)} '  # noqa: S608 - int
                f'WHERE "TestSuiteID" = {int(suite_id)} ORDER BY {order}'
            )
        )

    # --- per-suite tables --------------------------------------------------------------

    def _chunks(
        self, suite: LntSuite, table: str, columns: list[str], *, size: int, where: str = ""
    ) -> Iterator[list[tuple[Any, ...]]]:
        """Rows of ``<prefix>_<table>`` by ID, ``size`` at a time (keyset paging)."""
        name = f"{suite.prefix}_{table}"
        if name not in self.tables():
            return
        cols = ", ".join(_q(c) for c in ["ID", *columns])
        last = None
        while True:
            conds = [c for c in (where, f'"ID" > {int(last)}' if last is not None else "") if c]
            sql = f"SELECT {cols} FROM {_q(name)}"  # noqa: S608 - identifiers from LNT's catalogue
            if conds:
                sql += " WHERE " + " AND ".join(conds)
            rows = self._rows(sql + f' ORDER BY "ID" LIMIT {int(size)}')
            if not rows:
                return
            yield rows
            last = rows[-1][0]

    def _present(self, table: str, wanted: tuple[str, ...]) -> list[str]:
        have = set(self.columns(table))
        return [c for c in wanted if c in have]

    def machines(self, suite: LntSuite, *, size: int = 5000) -> Iterator[LntMachine]:
        cols = self._present(
            f"{suite.prefix}_Machine", ("Name", "Parameters", *suite.machine_fields)
        )
        for rows in self._chunks(suite, "Machine", cols, size=size):
            for row in rows:
                values = dict(zip(cols, row[1:], strict=True))
                yield LntMachine(
                    lnt_id=row[0],
                    name=str(values.pop("Name") or f"machine-{row[0]}"),
                    parameters=_parameters(values.pop("Parameters", None)),
                    fields={k: str(v) for k, v in values.items() if v is not None},
                )

    def orders(self, suite: LntSuite) -> list[LntOrder]:
        """Every order in LNT's order: follow ``NextOrder`` from each list head.

        Orders not reachable from a head (a damaged list) come last, by ID.  All
        orders are held in memory: a suite has tens of thousands at most.
        """
        cols = ["NextOrder", "PreviousOrder", *suite.order_fields]
        rows: dict[int, tuple[Any, ...]] = {}
        for chunk in self._chunks(suite, "Order", cols, size=20000):
            for row in chunk:
                rows[row[0]] = row
        ordered: list[int] = []
        seen: set[int] = set()
        heads = [i for i, r in rows.items() if r[2] is None or r[2] not in rows]
        for head in sorted(heads):
            current: int | None = head
            while current is not None and current in rows and current not in seen:
                seen.add(current)
                ordered.append(current)
                current = rows[current][1]
        ordered.extend(sorted(set(rows) - seen))
        return [
            LntOrder(
                lnt_id=i,
                fields={
                    f: "" if v is None else str(v)
                    for f, v in zip(suite.order_fields, rows[i][3:], strict=True)
                },
            )
            for i in ordered
        ]

    def tests(self, suite: LntSuite, *, size: int = 20000) -> Iterator[list[tuple[int, str]]]:
        for rows in self._chunks(suite, "Test", ["Name"], size=size):
            yield [(r[0], str(r[1])) for r in rows]

    def run_count(self, suite: LntSuite) -> int:
        if not self.has(suite, "Run"):
            return 0
        return int(self._rows(f"SELECT COUNT(*) FROM {_q(suite.prefix + '_Run')}")[0][0])  # noqa: S608 - identifier from LNT's catalogue

    def runs(self, suite: LntSuite, *, size: int = 200) -> Iterator[list[LntRun]]:
        table = f"{suite.prefix}_Run"
        cols = self._present(
            table,
            (
                "MachineID",
                "OrderID",
                "ImportedFrom",
                "StartTime",
                "EndTime",
                "Parameters",
                *suite.run_fields,
            ),
        )
        for rows in self._chunks(suite, "Run", cols, size=size):
            runs = []
            for row in rows:
                values = dict(zip(cols, row[1:], strict=True))
                runs.append(
                    LntRun(
                        lnt_id=row[0],
                        machine_id=int(values.pop("MachineID")),
                        order_id=int(values.pop("OrderID")),
                        imported_from=str(values.pop("ImportedFrom", "") or ""),
                        start_time=_datetime(values.pop("StartTime", None)),
                        end_time=_datetime(values.pop("EndTime", None)),
                        parameters=_parameters(values.pop("Parameters", None)),
                        fields={k: str(v) for k, v in values.items() if v is not None},
                    )
                )
            yield runs

    def sample_rows(
        self, suite: LntSuite, first_run: int, last_run: int, *, size: int = 10000
    ) -> Iterator[tuple[Any, ...]]:
        """Sample rows of runs ``first_run..last_run`` (LNT ids), by run, test, sample ID:
        plain tuples (run, test, profile, then one value per suite field in
        ``LntSuite.fields`` order, None where absent), fetched ``size`` at a time."""
        table = f"{suite.prefix}_Sample"
        if table not in self.tables():
            return
        present = set(self.columns(table))
        profile = "ProfileID" in present
        names = [f.name for f in suite.fields]
        select = ", ".join(
            ['"RunID"', '"TestID"', '"ProfileID"' if profile else "NULL"]
            + [_q(n) if n in present else "NULL" for n in names]
        )
        cursor = self.connection.cursor()
        try:
            cursor.execute(
                f"SELECT {select} FROM {_q(table)} "  # noqa: S608 - identifiers from LNT's catalogue, ints
                f'WHERE "RunID" >= {int(first_run)} AND "RunID" <= {int(last_run)} '
                'ORDER BY "RunID", "TestID", "ID"'
            )
            while rows := cursor.fetchmany(size):
                yield from rows
        finally:
            cursor.close()

    def profiles(self, suite: LntSuite, ids: list[int]) -> list[LntProfile]:
        if not ids or not self.has(suite, "Profile"):
            return []
        found = []
        for start in range(0, len(ids), 500):
            part = ", ".join(str(int(i)) for i in ids[start : start + 500])
            for lnt_id, filename, counters in self._rows(
                'SELECT "ID", "Filename", "Counters" FROM '  # noqa: S608 - ints
                f'{_q(suite.prefix + "_Profile")} WHERE "ID" IN ({part})'
            ):
                found.append(LntProfile(lnt_id, str(filename or ""), _counters(counters)))
        return found

    def field_changes(self, suite: LntSuite, *, size: int = 5000) -> Iterator[list[LntFieldChange]]:
        cols = [
            "OldValue",
            "NewValue",
            "StartOrderID",
            "EndOrderID",
            "TestID",
            "MachineID",
            "FieldID",
            "RunID",
        ]
        for rows in self._chunks(suite, "FieldChangeV2", cols, size=size):
            yield [
                LntFieldChange(
                    lnt_id=r[0],
                    old_value=float(r[1]) if r[1] is not None else 0.0,
                    new_value=float(r[2]) if r[2] is not None else 0.0,
                    start_order_id=r[3],
                    end_order_id=r[4],
                    test_id=r[5],
                    machine_id=r[6],
                    field_id=r[7],
                    run_id=r[8],
                )
                for r in rows
            ]

    def regressions(self, suite: LntSuite, *, size: int = 2000) -> Iterator[list[LntRegression]]:
        for rows in self._chunks(suite, "Regression", ["Title", "BugLink", "State"], size=size):
            regressions = {
                r[0]: LntRegression(r[0], str(r[1] or ""), str(r[2] or ""), int(r[3] or 0))
                for r in rows
            }
            if self.has(suite, "RegressionIndicator"):
                ids = ", ".join(str(int(i)) for i in regressions)
                for regression_id, change_id in self._rows(
                    'SELECT "RegressionID", "FieldChangeID" FROM '  # noqa: S608 - ints
                    f"{_q(suite.prefix + '_RegressionIndicator')} "
                    f'WHERE "RegressionID" IN ({ids}) ORDER BY "ID"'
                ):
                    regressions[regression_id].field_change_ids.append(change_id)
            yield list(regressions.values())

    def ignored_changes(self, suite: LntSuite) -> list[int]:
        """FieldChangeV2 ids marked ignored (a suite has few)."""
        ids: list[int] = []
        for rows in self._chunks(suite, "ChangeIgnore", ["ChangeIgnoreID"], size=20000):
            ids.extend(r[1] for r in rows if r[1] is not None)
        return ids

    def baselines(self, suite: LntSuite) -> list[tuple[int, str, str, int]]:
        """(id, name, comment, order id) of each baseline."""
        found: list[tuple[int, str, str, int]] = []
        for rows in self._chunks(suite, "Baseline", ["Name", "Comment", "OrderID"], size=20000):
            found.extend((r[0], str(r[1]), str(r[2] or ""), r[3]) for r in rows)
        return found


def _q(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _text(value: Any) -> str:
    if isinstance(value, memoryview):
        value = value.tobytes()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def _parameters(blob: Any) -> dict[str, Any]:
    """LNT stores free parameters as JSON: a list of [key, value] pairs (or an object)."""
    if blob is None:
        return {}
    try:
        data = json.loads(_text(blob))
    except ValueError:
        return {"lnt_parameters": _text(blob)[:10000]}
    if isinstance(data, dict):
        return {str(k): v for k, v in data.items()}
    if isinstance(data, list):
        return {str(p[0]): p[1] for p in data if isinstance(p, list | tuple) and len(p) == 2}
    return {}


def _counters(text: Any) -> dict[str, float]:
    """``cycles=12345.0,branch-misses=200.0`` -> {"cycles": 12345.0, ...}."""
    found: dict[str, float] = {}
    for part in _text(text or "").split(","):
        key, eq, value = part.partition("=")
        if eq:
            try:
                found[key.strip()] = float(value)
            except ValueError:
                continue
    return found


def _datetime(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    text = _text(value).strip()
    for fmt in (
        "%Y-%m-%d %H:%M:%S.%f",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%dT%H:%M:%S.%f",
        "%Y-%m-%dT%H:%M:%S",
    ):
        try:
            return datetime.strptime(text, fmt)  # noqa: DTZ007 - LNT stores naive UTC
        except ValueError:
            continue
    return None


# --- opening a source ------------------------------------------------------------------


class LntSourceError(Exception):
    """SOURCE names nothing this importer can read (the message says what was tried)."""


@dataclass
class OpenedSource:
    source: LntSource
    key: str  # the source's identity in the id map
    profiles_dir: Path | None
    schemas_dir: Path | None

    def close(self) -> None:
        self.source.connection.close()


def lnt_source_open(spec: str, *, profiles_dir: str | None = None) -> OpenedSource:
    """Open an LNT instance directory, an LNT SQLite file or a ``postgresql://`` URL.

    A directory is read as LNT lays an instance out: its ``lnt.cfg`` names the
    database (a ``postgresql://`` URL, or a file under ``db_dir``, by default
    ``data/lnt.db``); profiles are under ``data/profiles``, custom suites' YAML under
    ``schemas/``.  For a lone file or a URL, ``profiles_dir`` says where profiles are
    (a file's sibling ``profiles/`` is tried).  The SQLite file is opened read-only.
    """
    if spec.startswith(("postgres://", "postgresql://")):
        return OpenedSource(
            _postgres(spec), _url_key(spec), Path(profiles_dir) if profiles_dir else None, None
        )
    path = Path(spec)
    if path.is_dir():
        url, db_file = _instance_database(path)
        profiles = Path(profiles_dir) if profiles_dir else path / "data" / "profiles"
        schemas = path / "schemas"
        if url:
            return OpenedSource(_postgres(url), _url_key(url), profiles, schemas)
        return OpenedSource(_sqlite(db_file), f"sqlite:{db_file.resolve()}", profiles, schemas)
    if path.is_file():
        sibling = path.parent / "profiles"
        found = Path(profiles_dir) if profiles_dir else (sibling if sibling.is_dir() else None)
        schemas = path.parent.parent / "schemas"
        return OpenedSource(
            _sqlite(path),
            f"sqlite:{path.resolve()}",
            found,
            schemas if schemas.is_dir() else None,
        )
    raise LntSourceError(
        f"{spec}: not an LNT instance directory, an SQLite file or a postgresql:// URL"
    )


def _instance_database(instance: Path) -> tuple[str | None, Path]:
    """(database URL, database file) named by ``lnt.cfg``; defaults as ``lnt create``."""
    db_dir, db_name = "data", "lnt.db"
    cfg = instance / "lnt.cfg"
    if cfg.is_file():
        text = cfg.read_text(errors="replace")
        url = re.search(r"""['"](postgres(?:ql)?://[^'"]+)['"]""", text)
        if url:
            return url.group(1), instance
        found_dir = re.search(r"""^\s*db_dir\s*=\s*['"]([^'"]+)['"]""", text, re.MULTILINE)
        if found_dir:
            db_dir = found_dir.group(1)
        path = re.search(r"""['"]path['"]\s*:\s*['"]([^'"]+)['"]""", text)
        if path:
            db_name = path.group(1)
    db_file = (instance / db_dir / db_name) if not Path(db_name).is_absolute() else Path(db_name)
    if not db_file.is_file():
        raise LntSourceError(f"{instance}: no LNT database at {db_file}")
    return None, db_file


def _sqlite(path: Path) -> LntSource:
    import sqlite3

    try:
        conn = sqlite3.connect(f"file:{path.resolve()}?mode=ro", uri=True)
        conn.execute("SELECT 1 FROM sqlite_master LIMIT 1")
    except sqlite3.Error as exc:
        raise LntSourceError(f"{path}: not an SQLite database ({exc})") from exc
    return LntSource(conn, "sqlite")


def _postgres(url: str) -> LntSource:
    import psycopg2

    try:
        conn = psycopg2.connect(url)
    except psycopg2.Error as exc:
        raise LntSourceError(f"{_url_key(url)}: cannot connect ({exc})") from exc
    conn.set_session(readonly=True)
    return LntSource(conn, "postgresql")


def _url_key(url: str) -> str:
    """The URL without its password (it names the source in the id map and messages)."""
    return re.sub(r"//([^:/@]+):[^@/]*@", r"//\1@", url)

"""The demo data loaded once and replayed: the suite's many demo tests cost one real load each.

`load_demo()` builds three hospitals, their catalogs, users and a dozen journeys through the same services
the application uses, which takes from ten to twenty seconds; about fifty tests (the demo's own, and every
browser test) start from it. The first load from a given database state runs for real and records every
row of every table it left; a later load from the same state (the same rows in every table, ids aside; the
same day, within a few minutes; the same settings) writes those rows back, which takes well under a second.
Any other state (a test that made its own rows first, a second load, a frozen clock on another day) runs the
real loader. The mails the real load sent are sent again, so that a test sees what the loader would have
left.

What is replayed is exactly what the real loader wrote in this run of the suite, so a test of the demo still
tests the loader's output; the demo's own loader tests (idempotence, refusals) load over existing rows and
always run it for real.
"""

import copy
import datetime
import hashlib
from dataclasses import dataclass

from django.conf import settings
from django.core import mail
from django.db import connection, transaction
from django.utils import translation

# A replay's timestamps are those of the load it copies: keep them close to now (relative deadlines such as a
# first-response target are measured in hours).
MAX_AGE = datetime.timedelta(minutes=10)
SETTINGS = ("LAIHUA_DEMO_HISTORY", "LANGUAGE_CODE", "TIME_ZONE", "LAIHUA_DEMO")


@dataclass
class Snapshot:
    taken_at: datetime.datetime
    tables: dict  # table -> (columns, rows): every row of every table the load left
    summary: object
    mails: list
    sequences: list[str]


_snapshots: dict[str, Snapshot] = {}
_stats = {"real": 0, "replayed": 0}


def _tables() -> list[str]:
    with connection.cursor() as cursor:
        names = connection.introspection.table_names(cursor, include_views=False)
    return sorted(name for name in names if name != "django_migrations")


def _columns(cursor, table: str) -> tuple[list[str], int]:
    if connection.vendor == "postgresql":
        cursor.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() "
            "AND table_name = %s AND is_generated = 'NEVER' ORDER BY ordinal_position",
            [table],
        )
        columns = [row[0] for row in cursor.fetchall()]
    else:
        cursor.execute(f"PRAGMA table_info({connection.ops.quote_name(table)})")
        columns = [row[1] for row in cursor.fetchall()]
    pk = connection.introspection.get_primary_key_column(cursor, table)
    if pk not in columns:
        raise RuntimeError(f"{table} has no single-column primary key: the demo snapshot cannot replay it")
    return columns, columns.index(pk)


def _read(cursor, table: str, columns: list[str], pk_index: int) -> dict:
    quoted = ", ".join(connection.ops.quote_name(c) for c in columns)
    cursor.execute(f"SELECT {quoted} FROM {connection.ops.quote_name(table)}")
    if connection.vendor == "sqlite":
        # Django reads time columns into datetime.time, which sqlite3 cannot write back: store it as Django does.
        rows = (tuple(v.isoformat() if isinstance(v, datetime.time) else v for v in row) for row in cursor.fetchall())
    else:
        rows = (tuple(row) for row in cursor.fetchall())
    return {row[pk_index]: row for row in rows}


def _state() -> dict[str, tuple[list[str], int, dict]]:
    state = {}
    with connection.cursor() as cursor:
        for table in _tables():
            columns, pk_index = _columns(cursor, table)
            state[table] = (columns, pk_index, _read(cursor, table, columns, pk_index))
    return state


def _key(state) -> str:
    """The state's fingerprint: the settings and day the loader reads, and every table's rows without their ids.

    Ids are left out because a database emptied by a transactional test gets its content types and
    permissions again under new ids; a replay writes back the whole state the real load left, ids included.
    """
    from laihua.kit import clock

    digest = hashlib.sha256()
    digest.update(repr([(name, getattr(settings, name, None)) for name in SETTINGS]).encode())
    digest.update(clock.today().isoformat().encode())
    digest.update(str(translation.get_language()).encode())
    for table, (columns, _pk, rows) in state.items():
        keep = [i for i, name in enumerate(columns) if name != "id" and not name.endswith("_id")]
        digest.update(f"{table}:{len(rows)}".encode())
        texts = sorted(repr(tuple(row[i] for i in keep)) for row in rows.values())
        for text in texts:
            digest.update(text.encode())
    return digest.hexdigest()


def _write(snapshot: Snapshot, before) -> None:
    """Replace every table's rows by those the real load left."""
    quote = connection.ops.quote_name
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # The audit trail's append-only triggers (and the foreign keys' order) do not apply to a copy.
            cursor.execute("SET LOCAL session_replication_role = replica")
        for table, (_columns, _pk, rows) in before.items():
            if rows:
                cursor.execute(f"DELETE FROM {quote(table)}")
        for table, (columns, rows) in snapshot.tables.items():
            if rows:
                names = ", ".join(quote(c) for c in columns)
                marks = ", ".join(["%s"] * len(columns))
                cursor.executemany(f"INSERT INTO {quote(table)} ({names}) VALUES ({marks})", rows)
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL session_replication_role = origin")
            for statement in snapshot.sequences:
                cursor.execute(statement)


def _sequence_statements(after) -> list[str]:
    """Move each table's id sequence past the replayed rows, so that a later insert takes a new id."""
    if connection.vendor != "postgresql":
        return []  # SQLite's AUTOINCREMENT follows the largest id inserted
    statements = []
    for table, (columns, pk_index, rows) in after.items():
        if not rows:
            continue
        pk = columns[pk_index]
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_get_serial_sequence(%s, %s)", [table, pk])
            sequence = cursor.fetchone()[0]
        if sequence:
            quote = connection.ops.quote_name
            statements.append(
                f"SELECT setval('{sequence}', GREATEST((SELECT MAX({quote(pk)}) FROM {quote(table)}), "
                f"(SELECT last_value FROM {sequence})))"
            )
    return statements


def load_demo_once(real_load):
    """load_demo(), replayed from an earlier real load of this run when the database is as it was then."""
    from laihua.kit import clock

    before = _state()
    key = _key(before)
    snapshot = _snapshots.get(key)
    if snapshot is not None and abs(clock.now() - snapshot.taken_at) <= MAX_AGE:
        _write(snapshot, before)
        for message in snapshot.mails:
            mail.outbox.append(copy.deepcopy(message))
        _stats["replayed"] += 1
        return copy.deepcopy(snapshot.summary)
    sent = len(getattr(mail, "outbox", []))
    summary = real_load()
    _stats["real"] += 1
    after = _state()
    _snapshots[key] = Snapshot(
        taken_at=clock.now(),
        tables={table: (columns, list(rows.values())) for table, (columns, _pk, rows) in after.items()},
        summary=copy.deepcopy(summary),
        mails=[copy.deepcopy(m) for m in getattr(mail, "outbox", [])[sent:]],
        sequences=_sequence_statements(after),
    )
    return summary


def stats() -> dict:
    return dict(_stats)


def read_state() -> dict:
    """Every row of every table, as `write_state` takes it."""
    return {table: (columns, list(rows.values())) for table, (columns, _pk, rows) in _state().items()}


def write_state(tables: dict) -> None:
    """Make every table hold exactly these rows (ids included)."""
    _write(Snapshot(taken_at=None, tables=tables, summary=None, mails=[], sequences=[]), _state())

"""The database side of a backup: PostgreSQL's own tools (pg_dump and pg_restore, custom format) or SQLite's
backup API, whether a target database is empty, and what a copy holds (migrations, audit chain, files)."""

import shutil
import sqlite3
import subprocess
import tempfile
from contextlib import closing
from pathlib import Path

import dj_database_url
from django.apps import apps
from django.db import connections
from django.db.models import FileField
from django.utils.translation import gettext as _

from laihua.audit.models import AuditChainHead, AuditEvent
from laihua.env import child_environment
from laihua.ops.archive import OpsError

POSTGRES, SQLITE = "postgresql", "sqlite"
DUMP_FILES = {POSTGRES: "database.dump", SQLITE: "database.sqlite3"}


def vendor_of(database: dict) -> str:
    engine = database.get("ENGINE", "")
    if engine.endswith("postgresql"):
        return POSTGRES
    if engine.endswith("sqlite3"):
        return SQLITE
    raise OpsError(_("Backups support PostgreSQL and SQLite databases, not %(engine)s.") % {"engine": engine})


def target(database_url: str | None) -> dict:
    """The database to restore into: the URL given, else the configured one."""
    return dj_database_url.parse(database_url) if database_url else connections["default"].settings_dict


def sqlite_path(database: dict) -> Path:
    name = str(database.get("NAME") or "")
    if not name or name == ":memory:" or name.startswith("file:"):
        raise OpsError(
            _("Restore an SQLite backup into a database file, e.g. --database-url sqlite:////srv/x.sqlite3.")
        )
    return Path(name)


# --- PostgreSQL -----------------------------------------------------------------------------------------------------


def _environment(database: dict) -> dict:
    """libpq's variables for the client tools: the password never appears on a command line."""
    options = database.get("OPTIONS") or {}
    values = {
        "PGDATABASE": database.get("NAME"),
        "PGUSER": database.get("USER"),
        "PGPASSWORD": database.get("PASSWORD"),
        "PGHOST": database.get("HOST"),
        "PGPORT": database.get("PORT"),
        "PGSSLMODE": options.get("sslmode"),
        "PGSSLROOTCERT": options.get("sslrootcert"),
        "PGSSLCERT": options.get("sslcert"),
        "PGSSLKEY": options.get("sslkey"),
    }
    return child_environment(**{name: str(value) for name, value in values.items() if value})


def _run(tool: str, *arguments: str, database: dict) -> str:
    found = shutil.which(tool)
    if found is None:
        raise OpsError(
            _("%(tool)s was not found: install PostgreSQL's client tools, of the server's major version or newer.")
            % {"tool": tool}
        )
    done = subprocess.run([found, *arguments], env=_environment(database), capture_output=True, text=True)
    if done.returncode:
        raise OpsError(_("%(tool)s failed: %(error)s") % {"tool": tool, "error": done.stderr.strip()[-2000:]})
    return done.stdout


def pg_dump(database: dict, snapshot: str, into: Path) -> str:
    """Dump the database as the exported snapshot saw it (custom format); returns pg_dump's version."""
    _run("pg_dump", "--format=custom", f"--snapshot={snapshot}", "--no-password", f"--file={into}", database=database)
    return _run("pg_dump", "--version", database=database).strip()


def pg_restore(database: dict, dump: Path) -> None:
    """Restore a dump in one transaction, stopping at the first error; objects are owned by the restoring role.

    Comments on extensions are left out: only the extension's owner may set them, and they carry nothing."""
    listing = _run("pg_restore", "--list", str(dump), database=database)
    kept = [line for line in listing.splitlines() if " COMMENT - EXTENSION " not in line]
    with tempfile.NamedTemporaryFile("w", suffix=".list", encoding="utf-8") as contents:
        contents.write("\n".join(kept) + "\n")
        contents.flush()
        _run(
            "pg_restore",
            "--no-owner",
            "--no-privileges",
            "--exit-on-error",
            "--single-transaction",
            "--no-password",
            f"--use-list={contents.name}",
            f"--dbname={database['NAME']}",
            str(dump),
            database=database,
        )


def _pg_connect(database: dict):
    import psycopg

    options = database.get("OPTIONS") or {}
    values = {
        "dbname": database.get("NAME"),
        "user": database.get("USER"),
        "password": database.get("PASSWORD"),
        "host": database.get("HOST"),
        "port": database.get("PORT"),
        "sslmode": options.get("sslmode"),
    }
    try:
        return psycopg.connect(**{name: value for name, value in values.items() if value}, autocommit=True)
    except psycopg.Error as exc:
        raise OpsError(
            _("Cannot connect to the database %(name)s (create it first, empty): %(error)s")
            % {"name": database.get("NAME"), "error": str(exc).strip()}
        ) from None


PG_RELATIONS = """
SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%'
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                  AND d.deptype = 'e')
"""


def relations_in(database: dict, vendor: str) -> int:
    """How many tables, views and sequences the database holds (those of extensions aside); 0 when it is empty."""
    if vendor == POSTGRES:
        with closing(_pg_connect(database)) as connection:
            return connection.execute(PG_RELATIONS).fetchone()[0]
    path = sqlite_path(database)
    if not path.exists() or path.stat().st_size == 0:
        return 0
    with closing(sqlite3.connect(path)) as connection:
        query = "SELECT count(*) FROM sqlite_master WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite_%'"
        return connection.execute(query).fetchone()[0]


# --- SQLite ---------------------------------------------------------------------------------------------------------


def sqlite_copy(into: Path) -> None:
    """A consistent copy of the configured SQLite database through SQLite's backup API, in rollback-journal
    mode (the demo runs in WAL mode), so that reading the copy leaves no -wal or -shm file beside it."""
    connection = connections["default"]
    connection.ensure_connection()
    with closing(sqlite3.connect(into)) as copy:
        connection.connection.backup(copy)
        copy.execute("PRAGMA journal_mode=DELETE")


def sqlite_read_only(path: Path):
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True)


def sqlite_restore(copy: Path, database: dict) -> None:
    path = sqlite_path(database)
    path.parent.mkdir(parents=True, exist_ok=True)
    with closing(sqlite_read_only(copy)) as source, closing(sqlite3.connect(path)) as target:
        source.backup(target)


# --- what a copy holds ----------------------------------------------------------------------------------------------


def _file_columns() -> list[tuple[str, str]]:
    return sorted(
        (model._meta.db_table, field.column)
        for model in apps.get_models()
        for field in model._meta.concrete_fields
        if isinstance(field, FileField)
    )


def read_state(cursor) -> dict:
    """What the database holds, read through a DB-API cursor in the copy's own snapshot: the applied migrations,
    the audit chain's head, and the uploaded files its rows name."""
    cursor.execute("SELECT app, name FROM django_migrations ORDER BY app, id")
    migrations: dict[str, list[str]] = {}
    for app, name in cursor.fetchall():
        migrations.setdefault(app, []).append(name)
    cursor.execute(f'SELECT count(*) FROM "{AuditEvent._meta.db_table}"')
    events = cursor.fetchone()[0]
    cursor.execute(f'SELECT seq, hash FROM "{AuditChainHead._meta.db_table}" WHERE id = 1')
    head = cursor.fetchone() or (0, "")
    files = set()
    for table, column in _file_columns():
        cursor.execute(f'SELECT "{column}" FROM "{table}" WHERE "{column}" IS NOT NULL AND "{column}" <> \'\'')
        files.update(row[0] for row in cursor.fetchall())
    return {
        "migrations": migrations,
        "audit_chain": {"events": events, "seq": head[0], "hash": head[1]},
        "files": sorted(files),
    }

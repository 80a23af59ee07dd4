"""`laihua backup`: the database in one snapshot, then the uploaded files, with a manifest of checksums.

PostgreSQL: a REPEATABLE READ transaction exports its snapshot, pg_dump dumps exactly that snapshot (custom
format), and the same transaction reads the migration state, the audit chain's head and the files the rows
name. The files are copied afterwards, from the local media root or the S3-compatible bucket that holds them
(ops.mediastore): uploads are written once under new random names, so every file the dump names is still there
(one that is not is reported). SQLite: the backup API copies the database whole,
and the copy itself is read. The encryption keys and the secret key live in the environment, never in the
database, and nothing here reads them: a backup is useless without the keys kept elsewhere."""

import datetime
import importlib.metadata
import os
import sqlite3
import tempfile
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import django
from django.db import connections, transaction
from django.utils.translation import gettext as _

from laihua.audit.services import record_event
from laihua.ops import archive, databases, mediastore
from laihua.ops.archive import OpsError


@dataclass(frozen=True)
class Backup:
    path: Path
    manifest: dict
    missing: list[str]  # files the database names that the storage lacks
    skipped: list[str]  # links and other non-files under the media root


def laihua_version() -> str:
    try:
        return importlib.metadata.version("laihua")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def _check_destination(destination: Path) -> None:
    if not destination.parent.is_dir():
        raise OpsError(_("The folder %(path)s does not exist.") % {"path": destination.parent})
    if archive.is_tar(destination):
        if destination.exists():
            raise OpsError(_("%(path)s exists already: a backup never overwrites one.") % {"path": destination})
    elif destination.exists() and (not destination.is_dir() or any(destination.iterdir())):
        raise OpsError(_("%(path)s exists and is not an empty folder.") % {"path": destination})


def _dump(folder: Path) -> tuple[dict, dict]:
    """The database copy in the folder, with its description and what it holds."""
    connection = connections["default"]
    vendor = databases.vendor_of(connection.settings_dict)
    copy = folder / databases.DUMP_FILES[vendor]
    archive.private_file(copy).close()  # the dump and the copy fill it and keep its mode (0600)
    if vendor == databases.POSTGRES:
        if connection.in_atomic_block:
            raise OpsError(_("A backup runs in a transaction of its own: run it outside any other."))
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            cursor.execute("SELECT pg_export_snapshot(), current_setting('server_version')")
            snapshot, server = cursor.fetchone()
            tool = databases.pg_dump(connection.settings_dict, snapshot, copy)
            state = databases.read_state(cursor)
        return {"vendor": vendor, "file": copy.name, "server_version": server, "dump_tool": tool}, state
    databases.sqlite_copy(copy)
    with closing(databases.sqlite_read_only(copy)) as copied:
        state = databases.read_state(copied.cursor())
    return {"vendor": vendor, "file": copy.name, "sqlite_version": sqlite3.sqlite_version}, state


def _copy_media(storage, folder: Path) -> tuple[dict, list[str]]:
    """Every file of the storage, copied under media/ with its checksum. On the local disk links and other
    non-files are skipped (and named); object storage holds only files."""
    copied, skipped = {}, []
    root = mediastore.local_root(storage)
    if root is None:
        for relative in mediastore.names(storage):
            with storage.open(relative, "rb") as source:
                copied[f"{archive.MEDIA}/{relative}"] = archive.copy_stream_with_checksum(
                    source, folder / archive.MEDIA / relative
                )
        return copied, skipped
    if not root.is_dir():
        return copied, skipped
    for current, directories, names in os.walk(root):
        directories.sort()
        for name in sorted(names):
            source = Path(current) / name
            relative = source.relative_to(root).as_posix()
            if source.is_symlink() or not source.is_file():
                skipped.append(relative)
                continue
            copied[f"{archive.MEDIA}/{relative}"] = archive.copy_with_checksum(
                source, folder / archive.MEDIA / relative
            )
    return copied, skipped


def make_backup(destination: Path | str, *, media_root: Path | str | None = None) -> Backup:
    """Write a backup to a new folder, or to a tar file when the name ends in .tar, .tar.gz or .tgz. The files
    come from `media_root` when given, else from the configured storage (local disk or S3-compatible bucket)."""
    destination = Path(destination).absolute()
    _check_destination(destination)
    storage = mediastore.media_storage(media_root)
    work = Path(tempfile.mkdtemp(prefix=".laihua-backup-", dir=destination.parent))  # mode 0700
    try:
        database, state = _dump(work)
        files = {database["file"]: archive.checksum(work / database["file"])}
        media, skipped = _copy_media(storage, work)
        files.update(media)
        missing = [name for name in state["files"] if f"{archive.MEDIA}/{name}" not in media]
        manifest = {
            "format": archive.FORMAT,
            "format_version": archive.FORMAT_VERSION,
            "created_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            "laihua_version": laihua_version(),
            "django_version": django.get_version(),
            "database": database,
            "migrations": state["migrations"],
            "audit_chain": state["audit_chain"],
            "media": {
                "files": len(media),
                "bytes": sum(entry["bytes"] for entry in media.values()),
                "missing": missing,
            },
            "files": files,
        }
        archive.write_manifest(work, manifest)
        if archive.is_tar(destination):
            archive.pack(work, destination)
        else:
            if destination.exists():
                destination.rmdir()
            work.rename(destination)
    finally:
        archive.remove(work)
    record_event(
        None,
        "ops.backup",
        None,
        detail={
            "path": str(destination),
            "database": files[database["file"]]["sha256"],
            "files": len(media),
            "missing": len(missing),
            "chain_seq": state["audit_chain"]["seq"],
        },
    )
    return Backup(destination, manifest, missing, skipped)

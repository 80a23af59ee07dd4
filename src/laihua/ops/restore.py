"""`laihua restore`: check a backup's every checksum, then restore it into an empty database and media storage.

The files go to the configured storage (the local media root, or the S3-compatible bucket of LAIHUA_S3_BUCKET),
or to the folder given. Nothing is written before the whole backup has been checked, the database was found
empty and the storage holds no file; a non-empty target is refused, never merged into or overwritten."""

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from django.core.files import File
from django.db.migrations.loader import MigrationLoader
from django.utils.translation import gettext as _

from laihua.ops import archive, databases, mediastore
from laihua.ops.archive import OpsError


@dataclass(frozen=True)
class Restored:
    manifest: dict
    database: str  # the name restored into
    files: int
    pending_migrations: int  # this Laihua's migrations the backup had not applied: run `laihua migrate`


def _migrations(manifest: dict) -> int:
    """Refuse a backup from a newer Laihua (migrations this code does not know); count those it lacks."""
    known = set(MigrationLoader(None, ignore_no_migrations=True).disk_migrations)
    known_apps = {app for app, _name in known}
    applied = {(app, name) for app, names in (manifest.get("migrations") or {}).items() for name in names}
    unknown = sorted(f"{app}.{name}" for app, name in applied if app in known_apps and (app, name) not in known)
    if unknown:
        raise OpsError(
            _(
                "This backup was made by a newer Laihua (%(version)s): its migrations %(names)s are unknown here. "
                "Restore it with that version."
            )
            % {"version": manifest.get("laihua_version", "?"), "names": ", ".join(unknown[:5])}
        )
    return len(known - applied)


def _require_empty_media(storage) -> None:
    root = mediastore.local_root(storage)
    if root is None:
        if next(mediastore.names(storage), None) is not None:
            raise OpsError(
                _("The storage %(path)s already holds files: restore into an empty bucket or prefix.")
                % {"path": mediastore.describe(storage)}
            )
        return
    if root.exists() and (not root.is_dir() or any(path.is_file() for path in root.rglob("*"))):
        raise OpsError(
            _("The media root %(path)s already holds files: restore into an empty or new folder.") % {"path": root}
        )


def _restore_files(folder: Path, manifest: dict, storage) -> int:
    prefix = archive.MEDIA + "/"
    names = [name for name in manifest["files"] if name.startswith(prefix)]
    root = mediastore.local_root(storage)
    for name in names:
        relative = name[len(prefix) :]
        if root is not None:
            target = root / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(folder / name, target)
            continue
        with open(folder / name, "rb") as source:
            stored = storage.save(relative, File(source, name=relative))
        if stored != relative:  # the storage was emptied before, so a name is never taken
            raise OSError(f"{relative} was stored as {stored}")
    return len(names)


def _open(source: Path, scratch: Path) -> Path:
    if source.is_dir():
        return source
    if source.is_file() and archive.is_tar(source):
        return archive.unpack(source, scratch)
    raise OpsError(_("%(path)s is neither a backup folder nor a backup tar file.") % {"path": source})


def check_backup(source: Path | str) -> dict:
    """The manifest of a backup whose every file matches its checksum (else OpsError naming the files)."""
    with tempfile.TemporaryDirectory(prefix="laihua-restore-") as scratch:
        return archive.verify(_open(Path(source).absolute(), Path(scratch)))


def restore(source: Path | str, *, database_url: str | None = None, media_root: Path | str | None = None) -> Restored:
    """Restore the backup into the database (the configured one, or `database_url`) and the files into the
    configured storage (or the folder `media_root`)."""
    database = databases.target(database_url)
    vendor = databases.vendor_of(database)
    storage = mediastore.media_storage(media_root)
    with tempfile.TemporaryDirectory(prefix="laihua-restore-") as scratch:
        folder = _open(Path(source).absolute(), Path(scratch))
        manifest = archive.verify(folder)
        backed_up = manifest["database"]
        if backed_up.get("vendor") != vendor:
            raise OpsError(
                _("This is a backup of a %(backup)s database; the target is %(target)s.")
                % {"backup": backed_up.get("vendor"), "target": vendor}
            )
        pending = _migrations(manifest)
        _require_empty_media(storage)
        if databases.relations_in(database, vendor):
            raise OpsError(
                _(
                    "The database %(name)s is not empty: a backup is restored only into an empty database. "
                    "Restore into a new one (PostgreSQL: createdb), or empty this one first."
                )
                % {"name": database.get("NAME")}
            )
        dump = folder / backed_up["file"]
        if vendor == databases.POSTGRES:
            databases.pg_restore(database, dump)
        else:
            databases.sqlite_restore(dump, database)
        try:
            files = _restore_files(folder, manifest, storage)
        except OSError as exc:
            raise OpsError(
                _(
                    "The database was restored, but the files could not be copied into %(path)s: %(error)s. Empty "
                    "the database and the media root before trying again."
                )
                % {"path": mediastore.describe(storage), "error": exc}
            ) from None
    return Restored(manifest, str(database.get("NAME")), files, pending)

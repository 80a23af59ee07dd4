"""A backup on disk: a folder (or a tar file of it) holding the database copy, the uploaded files under
`media/`, and `manifest.json` with every file's SHA-256 and size, Laihua's version and the migration state.

Nothing here reads the settings: no key or secret can reach a manifest."""

import hashlib
import json
import os
import shutil
import tarfile
from pathlib import Path

from django.utils.translation import gettext as _

MANIFEST = "manifest.json"
FORMAT = "laihua-backup"
FORMAT_VERSION = 1
MEDIA = "media"
TAR_SUFFIXES = (".tar", ".tar.gz", ".tgz")
CHUNK = 1024 * 1024


class OpsError(Exception):
    """A backup or restore cannot go on; the message says why and what to do."""


def is_tar(path: Path) -> bool:
    return path.name.endswith(TAR_SUFFIXES)


def private_file(path: Path):
    """A new file only its owner can read (a backup holds patient data)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    return open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb")


def checksum(path: Path) -> dict:
    digest, size = hashlib.sha256(), 0
    with open(path, "rb") as source:
        while chunk := source.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return {"sha256": digest.hexdigest(), "bytes": size}


def copy_with_checksum(source: Path, target: Path) -> dict:
    """Copy a file into the backup and return its checksum, read once."""
    digest, size = hashlib.sha256(), 0
    with open(source, "rb") as reading, private_file(target) as writing:
        while chunk := reading.read(CHUNK):
            digest.update(chunk)
            writing.write(chunk)
            size += len(chunk)
    return {"sha256": digest.hexdigest(), "bytes": size}


def copy_stream_with_checksum(reading, target: Path) -> dict:
    """Copy an open file (from object storage) into the backup and return its checksum, read once."""
    digest, size = hashlib.sha256(), 0
    with private_file(target) as writing:
        while chunk := reading.read(CHUNK):
            digest.update(chunk)
            writing.write(chunk)
            size += len(chunk)
    return {"sha256": digest.hexdigest(), "bytes": size}


def write_manifest(folder: Path, manifest: dict) -> None:
    with private_file(folder / MANIFEST) as out:
        out.write(json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False).encode() + b"\n")


def files_in(folder: Path) -> list[str]:
    """Every file under the folder but the manifest, as POSIX paths relative to it."""
    found = []
    for path in sorted(folder.rglob("*")):
        if path.is_symlink() or path.is_file():
            relative = path.relative_to(folder).as_posix()
            if relative != MANIFEST:
                found.append(relative)
    return found


def read_manifest(folder: Path) -> dict:
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise OpsError(_("%(path)s is not a Laihua backup: it has no manifest.json.") % {"path": folder}) from None
    except ValueError:
        raise OpsError(_("The backup's manifest.json cannot be read: it is damaged.")) from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise OpsError(_("%(path)s is not a Laihua backup: its manifest is of another kind.") % {"path": folder})
    if manifest.get("format_version") != FORMAT_VERSION:
        raise OpsError(
            _("This backup has format version %(found)s; this Laihua reads version %(known)s.")
            % {"found": manifest.get("format_version"), "known": FORMAT_VERSION}
        )
    return manifest


def verify(folder: Path) -> dict:
    """The manifest, once every file it lists is present with its size and SHA-256 and no other file is."""
    manifest = read_manifest(folder)
    listed = manifest.get("files") or {}
    problems = []
    for name in sorted(set(files_in(folder)) - set(listed)):
        problems.append(_("%(file)s is not in the manifest") % {"file": name})
    for name, expected in sorted(listed.items()):
        path = folder / name
        if not path.is_file() or path.is_symlink():
            problems.append(_("%(file)s is missing") % {"file": name})
        elif checksum(path) != {"sha256": expected.get("sha256"), "bytes": expected.get("bytes")}:
            problems.append(_("%(file)s does not match its checksum") % {"file": name})
    if problems:
        shown = "; ".join(problems[:10]) + (" …" if len(problems) > 10 else "")
        raise OpsError(
            _("The backup is damaged or was changed, so nothing was restored: %(problems)s.") % {"problems": shown}
        )
    return manifest


def pack(folder: Path, destination: Path) -> None:
    """The folder as a tar file (gzip-compressed for .tar.gz and .tgz), written whole or not at all."""
    partial = destination.with_name(destination.name + ".partial")
    mode = "w:gz" if destination.name.endswith((".tar.gz", ".tgz")) else "w"
    with private_file(partial) as out, tarfile.open(fileobj=out, mode=mode) as tar:
        for path in sorted(folder.iterdir()):
            tar.add(path, arcname=path.name, recursive=True)
    partial.rename(destination)


def unpack(archive: Path, into: Path) -> Path:
    """A tar file's backup unpacked into a folder, refusing links and paths that leave it."""
    try:
        with tarfile.open(archive) as tar:
            for member in tar.getmembers():
                if not (member.isfile() or member.isdir()):
                    raise OpsError(_("The backup file holds a link or device (%(name)s).") % {"name": member.name})
            tar.extractall(into, filter="data")
    except (tarfile.TarError, OSError) as exc:
        raise OpsError(_("The backup file cannot be read: %(error)s") % {"error": exc}) from None
    return into


def remove(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)

"""Where the uploaded files live for a backup or a restore: the configured storage (the local media root, or an
S3-compatible bucket when LAIHUA_S3_BUCKET is set), or a folder named on the command line."""

import posixpath
from collections.abc import Iterator
from pathlib import Path

from django.core.files.storage import FileSystemStorage, Storage, default_storage


def media_storage(media_root: Path | str | None = None) -> Storage:
    """The folder given, else the storage every upload goes to."""
    if media_root:
        return FileSystemStorage(location=str(Path(media_root).absolute()))
    return default_storage


def local_root(storage: Storage) -> Path | None:
    """The folder of a storage on the local disk, or None for object storage."""
    if isinstance(storage, FileSystemStorage):
        return Path(storage.location).absolute()
    return None


def describe(storage: Storage) -> str:
    """The storage as an operator names it: a folder, or s3://bucket/prefix."""
    root = local_root(storage)
    if root is not None:
        return str(root)
    location = getattr(storage, "location", "")
    return f"s3://{storage.bucket_name}/{location}".rstrip("/")


def names(storage: Storage, folder: str = "") -> Iterator[str]:
    """Every file's name in the storage, folders walked depth first in sorted order."""
    directories, files = storage.listdir(folder)
    for name in sorted(files):
        yield posixpath.join(folder, name) if folder else name
    for directory in sorted(directories):
        yield from names(storage, posixpath.join(folder, directory) if folder else directory)

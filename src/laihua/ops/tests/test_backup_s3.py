"""`laihua backup` and `laihua restore` with the uploads in an S3-compatible bucket (moto's server over HTTP):
the backup holds the bucket's files with their checksums, a restore fills an empty bucket with the same names
and bytes, and a bucket that holds anything is refused."""

import hashlib
import io

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from laihua.ops.tests.helpers import attach_files, media_files
from laihua.ops.tests.test_backup import backup, restored_rows, source_rows, target
from tests.objectstore import keys, s3_client, storage_settings

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def data(users, case, s3_storage):
    return attach_files(case, users)


def restore_into_storage(source, tmp_path) -> str:
    out = io.StringIO()
    call_command("restore", str(source), "--database-url", target(tmp_path), stdout=out)
    return out.getvalue()


def test_a_backup_holds_every_file_of_the_bucket(tmp_path, data, s3_storage):
    endpoint, bucket, prefix = s3_storage
    stored = keys(endpoint, bucket)
    assert len(stored) == 2 and all(key.startswith(f"{prefix}/cases/") for key in stored)
    manifest = backup(tmp_path / "backup")
    expected = {f"media/{key.removeprefix(prefix + '/')}": content for key, content in stored.items()}
    assert {name: entry for name, entry in manifest["files"].items() if name.startswith("media/")} == {
        name: {"sha256": hashlib.sha256(content).hexdigest(), "bytes": len(content)}
        for name, content in expected.items()
    }
    assert manifest["media"]["missing"] == [] and manifest["media"]["files"] == 2
    assert media_files(tmp_path / "backup" / "media") == {
        name.removeprefix("media/"): content for name, content in expected.items()
    }


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's round trip (PostgreSQL's: test_backup_postgres)")
def test_a_backup_restores_into_an_empty_bucket_with_the_same_names_and_bytes(tmp_path, settings, data, s3_storage):
    endpoint, bucket, prefix = s3_storage
    stored, before = keys(endpoint, bucket), source_rows()
    backup(tmp_path / "backup.tar.gz")
    s3_client(endpoint).create_bucket(Bucket=f"{bucket}-restored")
    settings.STORAGES = {**settings.STORAGES, "default": storage_settings(endpoint, f"{bucket}-restored", prefix)}
    said = restore_into_storage(tmp_path / "backup.tar.gz", tmp_path)
    assert "with 2 files" in said
    assert keys(endpoint, f"{bucket}-restored") == stored
    assert restored_rows(tmp_path / "restored.sqlite3") == before


def test_a_bucket_that_holds_a_file_is_refused(tmp_path, data, s3_storage):
    endpoint, bucket, prefix = s3_storage
    backup(tmp_path / "backup")
    before = keys(endpoint, bucket)
    with pytest.raises(CommandError, match="already holds files"):
        restore_into_storage(tmp_path / "backup", tmp_path)
    assert keys(endpoint, bucket) == before
    assert not (tmp_path / "restored.sqlite3").exists()

"""`laihua backup` and `laihua restore`: SQLite's round trip (the demo's database), and what both refuse, on
either database. PostgreSQL's round trip is test_backup_postgres.py."""

import hashlib
import io
import json
import sqlite3
import tarfile
from contextlib import closing
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from laihua.audit.models import AuditChainHead
from laihua.ops.backup import laihua_version
from laihua.ops.tests.helpers import (
    KEY_NEW,
    KEY_OLD,
    SECRET,
    attach_files,
    media_files,
    postgres_url,
    run_laihua,
    secrets_in,
)
from laihua.patients.models import Patient
from tests.builders import make_patient

pytestmark = pytest.mark.django_db(transaction=True)  # a backup copies what is committed
sqlite_only = pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's round trip (PostgreSQL's: its own)")


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def data(users, case, media):
    return attach_files(case, users)


def rows(raw) -> dict[str, list]:
    """Every row of every table (and SQLite's sequence table), in a stable order."""
    query = (
        "SELECT name FROM sqlite_master WHERE type = 'table' AND (name NOT LIKE 'sqlite_%' OR name = 'sqlite_sequence')"
    )
    tables = sorted(name for (name,) in raw.execute(query).fetchall())
    return {table: sorted(raw.execute(f'SELECT * FROM "{table}"').fetchall(), key=repr) for table in tables}


def source_rows() -> dict[str, list]:
    connection.ensure_connection()
    return rows(connection.connection)


def restored_rows(path: Path) -> dict[str, list]:
    # The same conversions as Django's own connection, so that both sides read alike.
    with closing(sqlite3.connect(path, detect_types=sqlite3.PARSE_DECLTYPES | sqlite3.PARSE_COLNAMES)) as restored:
        return rows(restored)


def backup(destination: Path) -> dict:
    call_command("backup", str(destination), stdout=io.StringIO())
    if destination.is_dir():
        return json.loads((destination / "manifest.json").read_text())
    with tarfile.open(destination) as tar:
        return json.load(tar.extractfile("manifest.json"))


def target(tmp_path: Path) -> str:
    """Where the tests restore: a new SQLite file, or a PostgreSQL database the refused restores never reach."""
    if connection.vendor == "sqlite":
        return f"sqlite:///{tmp_path / 'restored.sqlite3'}"
    return postgres_url("laihua_restore_never_created")


def restore(source: Path, tmp_path: Path, *extra: str, database: str = "") -> str:
    out = io.StringIO()
    database = database or target(tmp_path)
    call_command(
        "restore",
        str(source),
        "--database-url",
        database,
        "--media-root",
        str(tmp_path / "restored-media"),
        *extra,
        stdout=out,
    )
    return out.getvalue()


@sqlite_only
def test_a_backup_restores_every_row_every_file_and_the_audit_chain(tmp_path, data, media):
    before, files = source_rows(), media_files(media)
    head = AuditChainHead.objects.get()
    manifest = backup(tmp_path / "backup")
    assert manifest["laihua_version"] == laihua_version() and manifest["database"]["vendor"] == "sqlite"
    assert manifest["migrations"]["audit"][-1] == "0005_seal_existing_events"
    assert manifest["audit_chain"]["seq"] == head.seq and manifest["audit_chain"]["hash"] == head.hash
    assert len(files) == 2 and manifest["media"] == {"files": 2, "bytes": sum(map(len, files.values())), "missing": []}
    assert set(manifest["files"]) == {"database.sqlite3", *(f"media/{name}" for name in files)}
    for name, content in files.items():
        assert manifest["files"][f"media/{name}"] == {
            "sha256": hashlib.sha256(content).hexdigest(),
            "bytes": len(content),
        }

    said = restore(tmp_path / "backup", tmp_path)
    assert "with 2 files" in said and f"laihua audit verify --expect {head.seq}:{head.hash}" in said
    assert restored_rows(tmp_path / "restored.sqlite3") == before
    assert media_files(tmp_path / "restored-media") == files
    verified = run_laihua(
        "audit",
        "verify",
        "--expect",
        f"{head.seq}:{head.hash}",
        database_url=f"sqlite:///{tmp_path / 'restored.sqlite3'}",
    )
    assert verified.returncode == 0 and "The audit chain holds" in verified.stdout, verified.stderr


def test_a_backup_is_checked_without_restoring_anything(tmp_path, data, media):
    backup(tmp_path / "laihua.tar.gz")
    out = io.StringIO()
    call_command("restore", str(tmp_path / "laihua.tar.gz"), "--check", stdout=out)
    assert "is whole: all 3 files match their checksums" in out.getvalue()
    assert not (tmp_path / "restored.sqlite3").exists() and not (tmp_path / "restored-media").exists()


@sqlite_only
def test_a_tar_backup_is_restored(tmp_path, data, media):
    before, files = source_rows(), media_files(media)
    backup(tmp_path / "laihua.tar.gz")
    restore(tmp_path / "laihua.tar.gz", tmp_path)
    assert restored_rows(tmp_path / "restored.sqlite3") == before
    assert media_files(tmp_path / "restored-media") == files


@sqlite_only  # PostgreSQL's dump is compressed: test_backup_postgres reads it back as SQL
def test_no_key_is_ever_written_into_a_backup(tmp_path, settings, users, case, media):
    settings.SECRET_KEY = SECRET
    settings.FIELD_ENCRYPTION_KEYS = [KEY_OLD]
    make_patient(users["other_coordinator"], passport_number="OLD11111")  # encrypted with the old key
    settings.FIELD_ENCRYPTION_KEYS = [KEY_NEW, KEY_OLD]
    patient = make_patient(users["finance"], passport_number="NEW22222")
    attach_files(case, users)
    backup(tmp_path / "folder")
    backup(tmp_path / "laihua.tar.gz")
    with tarfile.open(tmp_path / "laihua.tar.gz") as tar:
        tar.extractall(tmp_path / "unpacked", filter="data")
    for folder in (tmp_path / "folder", tmp_path / "unpacked"):
        assert secrets_in(folder, [SECRET, KEY_NEW, KEY_OLD]) == {}
        with connection.cursor() as cursor:  # the scan does see what the database stores
            cursor.execute("SELECT passport_number FROM patients_patient WHERE id = %s", [patient.pk])
            stored = cursor.fetchone()[0]
        assert stored.startswith("fernet:") and secrets_in(folder, [stored]) == {stored: ["database.sqlite3"]}
    assert Patient.objects.get(pk=patient.pk).passport_number == "NEW22222"


@pytest.mark.parametrize("damage", ["changed", "added", "removed"])
def test_a_damaged_backup_is_refused_before_anything_is_restored(tmp_path, data, media, damage):
    manifest = backup(tmp_path / "backup")
    name = next(name for name in manifest["files"] if name.startswith("media/"))
    path = tmp_path / "backup" / name
    if damage == "changed":
        path.write_bytes(path.read_bytes()[:-1] + b"!")
        expected = f"{name} does not match its checksum"
    elif damage == "added":
        (tmp_path / "backup" / "media" / "extra.pdf").write_bytes(b"%PDF-1.4")
        expected = "media/extra.pdf is not in the manifest"
    else:
        path.unlink()
        expected = f"{name} is missing"
    with pytest.raises(CommandError) as refused:
        restore(tmp_path / "backup", tmp_path)
    assert "nothing was restored" in str(refused.value) and expected in str(refused.value)
    assert not (tmp_path / "restored.sqlite3").exists() and not (tmp_path / "restored-media").exists()


def test_a_database_or_media_root_that_holds_anything_is_refused(tmp_path, data, media):
    backup(tmp_path / "backup")
    if connection.vendor == "sqlite":
        database = target(tmp_path)
        with closing(sqlite3.connect(tmp_path / "restored.sqlite3")) as used:
            used.execute("CREATE TABLE something (x)")
    else:
        database = postgres_url(connection.settings_dict["NAME"])  # the tests' own
    before = source_rows() if connection.vendor == "sqlite" else None
    with pytest.raises(CommandError, match="is not empty: a backup is restored only into an empty database"):
        restore(tmp_path / "backup", tmp_path, database=database)
    assert not (tmp_path / "restored-media").exists()
    if connection.vendor == "sqlite":
        assert restored_rows(tmp_path / "restored.sqlite3") == {"something": []} and source_rows() == before
        (tmp_path / "restored.sqlite3").unlink()
    (tmp_path / "restored-media" / "cases").mkdir(parents=True)
    (tmp_path / "restored-media" / "cases" / "old.pdf").write_bytes(b"%PDF")
    with pytest.raises(CommandError, match="already holds files"):
        restore(tmp_path / "backup", tmp_path)
    assert not (tmp_path / "restored.sqlite3").exists()
    assert media_files(tmp_path / "restored-media") == {"cases/old.pdf": b"%PDF"}


def test_a_backup_of_a_newer_laihua_or_another_database_is_refused(tmp_path, data, media):
    manifest = backup(tmp_path / "backup")
    mine, other, url = "sqlite", "postgresql", "postgresql://nobody@127.0.0.1:1/none"
    if connection.vendor != "sqlite":
        mine, other, url = other, mine, f"sqlite:///{tmp_path / 'other.sqlite3'}"
    with pytest.raises(CommandError, match=f"This is a backup of a {mine} database; the target is {other}"):
        call_command("restore", str(tmp_path / "backup"), "--database-url", url)
    manifest["migrations"]["audit"].append("9999_from_the_future")
    (tmp_path / "backup" / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(CommandError, match=r"made by a newer Laihua .*audit\.9999_from_the_future"):
        restore(tmp_path / "backup", tmp_path)
    assert not (tmp_path / "restored.sqlite3").exists()


def test_a_file_the_database_names_but_the_media_root_lacks_is_reported(tmp_path, data, media):
    lost = data[0]
    Path(lost.file.path).unlink()
    with pytest.raises(CommandError) as reported:
        backup(tmp_path / "backup")
    assert reported.value.returncode == 2 and lost.file.name in str(reported.value)
    manifest = json.loads((tmp_path / "backup" / "manifest.json").read_text())
    assert manifest["media"]["missing"] == [lost.file.name] and manifest["media"]["files"] == 1


def test_a_backup_never_overwrites_anything(tmp_path, data, media):
    (tmp_path / "used").mkdir()
    (tmp_path / "used" / "keep.txt").write_text("mine")
    with pytest.raises(CommandError, match="is not an empty folder"):
        backup(tmp_path / "used")
    backup(tmp_path / "laihua.tar")
    with pytest.raises(CommandError, match="exists already"):
        backup(tmp_path / "laihua.tar")
    assert (tmp_path / "used" / "keep.txt").read_text() == "mine"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["laihua.tar", "media", "used"]  # no leftovers

"""A PostgreSQL backup restored into a fresh database and media root holds every row, every file and the same
audit chain; its passports still decrypt with the keys kept apart, and no key is in it."""

import datetime
import io
import json
import subprocess
import tarfile
from contextlib import closing
from decimal import Decimal

import psycopg
import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import override_settings

from laihua.audit.models import AuditChainHead, AuditEvent
from laihua.billing import services as billing
from laihua.cases.services import move
from laihua.kit import clock, crypto
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
from laihua.quotes import services as quotes
from laihua.rates.models import ExchangeRate
from laihua.travel.models import InvitationLetter, LetterSettings
from laihua.travel.services import issue_letter
from tests.builders import make_case, make_user

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]

RESTORED = "laihua_restore_test"


def _server(name: str):
    db = connection.settings_dict
    values = {"user": db["USER"], "password": db.get("PASSWORD"), "host": db["HOST"], "port": db["PORT"]}
    return psycopg.connect(dbname=name, autocommit=True, **{key: value for key, value in values.items() if value})


@pytest.fixture
def fresh_database():
    """An empty database to restore into, dropped afterwards."""
    with closing(_server("postgres")) as server:
        server.execute(f"DROP DATABASE IF EXISTS {RESTORED} WITH (FORCE)")
        server.execute(f"CREATE DATABASE {RESTORED}")
    yield postgres_url(RESTORED)
    with closing(_server("postgres")) as server:
        server.execute(f"DROP DATABASE IF EXISTS {RESTORED} WITH (FORCE)")


def rows(conn) -> dict[str, list[str]]:
    """Every row of every table as PostgreSQL writes it out, and every sequence's position."""
    tables = [name for (name,) in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")]
    found = {table: sorted(text for (text,) in conn.execute(f'SELECT t::text FROM "{table}" t')) for table in tables}
    found["(sequences)"] = sorted(conn.execute("SELECT sequencename, last_value FROM pg_sequences").fetchall())
    return found


@pytest.fixture
def keys(settings):
    settings.SECRET_KEY = SECRET
    settings.FIELD_ENCRYPTION_KEYS = [KEY_NEW, KEY_OLD]


@pytest.fixture
def hospital_data(keys, settings, tmp_path, users, patient, hospital, mri):
    """A case taken from inquiry to an issued invoice: files on its thread, an accepted quote, an invitation letter
    for the patient and a companion (passports encrypted, one with the older key), and the audit trail of it all."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.FIELD_ENCRYPTION_KEYS = [KEY_OLD]
    companion = patient.companions.create(
        family_name="Doe",
        given_names="John",
        relation="husband",
        sex="M",
        date_of_birth=datetime.date(1978, 2, 3),
        nationality="US",
        passport_number="C7654321",
    )
    settings.FIELD_ENCRYPTION_KEYS = [KEY_NEW, KEY_OLD]
    ExchangeRate.objects.create(currency="USD", rate_date=clock.today(), cny_per_unit=Decimal("7.1"), source="Test")
    arrival = clock.today() + datetime.timedelta(days=30)
    case = make_case(
        patient,
        hospital,
        services=[mri],
        department=hospital.departments.get(code="radiology"),
        desired_arrival=arrival,
        desired_departure=arrival + datetime.timedelta(days=12),
        description="Knee pain after a fall.",
    )
    coordinator = users["coordinator"]
    attach_files(case, users)
    case = move(coordinator, case, "triage")
    quote_ = quotes.create_draft(coordinator, case, {"valid_until": arrival, "deposit": "300"})
    quotes.add_line(coordinator, quote_, {"item": mri.pk, "quantity": 1})
    quotes.send_quote(coordinator, quote_)
    quotes.accept_quote(users["patient"], quote_)
    LetterSettings.objects.create(
        hospital=hospital,
        signatory_name={"en": "ZHANG Wei", "zh-hans": "张伟"},
        signatory_title={"en": "Director", "zh-hans": "主任"},
    )
    issue_letter(
        coordinator,
        case.reference,
        {
            "arrival": arrival.isoformat(),
            "departure": (arrival + datetime.timedelta(days=12)).isoformat(),
            "purpose": "MRI of the right knee",
            "payer": "self",
            "payer_name": "",
            "companions": [companion.pk],
        },
    )
    case.refresh_from_db()
    for state in ("scheduled", "arrived", "in_treatment", "discharged"):
        case = move(coordinator, case, state)
    draft = billing.start_invoice(users["finance"], case)
    for line in draft.lines.all():
        billing.confirm_line(users["finance"], draft, line.pk, line.quantity)
    invoice = billing.issue_invoice(users["finance"], draft, cover=None)
    make_user("spare-admin", "hospital_admin", hospital)
    return {"case": case, "invoice": invoice, "companion": companion}


def test_a_backup_restores_into_a_fresh_database_with_every_row_file_and_event(
    tmp_path, hospital_data, patient, fresh_database
):
    assert InvitationLetter.objects.count() == 1 and hospital_data["invoice"].number
    assert AuditEvent.objects.filter(seq__isnull=True).count() == 0 and AuditEvent.objects.count() > 10
    with closing(_server(connection.settings_dict["NAME"])) as source:
        before = rows(source)
    for table in ("billing_invoice", "travel_invitationletter", "cases_attachment", "audit_auditevent"):
        assert before[table], table
    files = media_files(tmp_path / "media")
    head = AuditChainHead.objects.get()
    assert len(files) == 2

    call_command("backup", str(tmp_path / "laihua.tar.gz"), stdout=io.StringIO())
    with tarfile.open(tmp_path / "laihua.tar.gz") as tar:
        manifest = json.load(tar.extractfile("manifest.json"))
        tar.extractall(tmp_path / "unpacked", filter="data")
    assert manifest["database"]["vendor"] == "postgresql" and manifest["database"]["dump_tool"].startswith("pg_dump")
    assert manifest["audit_chain"] == {"events": AuditEvent.objects.count() - 1, "seq": head.seq, "hash": head.hash}
    assert AuditEvent.objects.latest("seq").action == "ops.backup"  # recorded after the snapshot

    out = io.StringIO()
    restored_media = tmp_path / "restored-media"
    call_command(
        "restore",
        str(tmp_path / "laihua.tar.gz"),
        "--database-url",
        fresh_database,
        "--media-root",
        str(restored_media),
        stdout=out,
    )
    assert f"into {RESTORED}, with 2 files" in out.getvalue()
    with closing(_server(RESTORED)) as restored:
        assert rows(restored) == before
        stored = dict(restored.execute("SELECT id, passport_number FROM patients_patient").fetchall())
        companion = restored.execute("SELECT passport_number FROM patients_companion").fetchone()[0]
        with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
            restored.execute("UPDATE audit_auditevent SET action = 'x'")  # the triggers came back too
    assert media_files(restored_media) == files

    verified = run_laihua("audit", "verify", "--expect", f"{head.seq}:{head.hash}", database_url=fresh_database)
    assert verified.returncode == 0 and f"{head.seq} events" in verified.stdout, verified.stderr

    # The passports decrypt with the keys kept apart (the old one too), and with no other key.
    assert crypto.decrypt(stored[patient.pk]) == "X1234567" and crypto.decrypt(companion) == "C7654321"
    with override_settings(FIELD_ENCRYPTION_KEYS=[crypto.new_key()]), pytest.raises(ImproperlyConfigured):
        crypto.decrypt(stored[patient.pk])

    # No key in the manifest or the dump (read back as SQL: the custom format is compressed); the data is there.
    dump = tmp_path / "unpacked" / "database.dump"
    subprocess.run(["pg_restore", "--file", str(tmp_path / "unpacked" / "dump.sql"), str(dump)], check=True)
    assert secrets_in(tmp_path / "unpacked", [SECRET, KEY_NEW, KEY_OLD]) == {}
    assert secrets_in(tmp_path / "unpacked", [stored[patient.pk]]) == {stored[patient.pk]: ["dump.sql"]}

    with pytest.raises(CommandError, match=f"The database {RESTORED} is not empty"):
        call_command(
            "restore",
            str(tmp_path / "laihua.tar.gz"),
            "--database-url",
            fresh_database,
            "--media-root",
            str(tmp_path / "m2"),
        )

"""No passport number lies in the database in plain text: not in profiles, not in the letters printed from
them, not in their PDFs, not in an imported patient summary whose Patient carries it; and old keys still
read them after a key rotation."""

import base64
import hashlib

import pytest
from cryptography.fernet import Fernet
from django.apps import apps
from django.db import connection
from django.test import override_settings

from laihua.kit import crypto
from laihua.records import services as records
from laihua.records.models import IpsDocument
from laihua.records.tests.conftest import as_bytes, ips_document
from laihua.travel.models import InvitationLetter
from laihua.travel.tests.test_letters import issue, pdf_text

pytestmark = pytest.mark.django_db

PASSPORTS = ("X1234567", "C7654321")  # the patient's (tests.builders) and the companion's (conftest)


def cells_holding(needles: tuple[str, ...]) -> list[str]:
    """Every table.column whose stored value (read raw, past any field's decryption) holds one of the needles."""
    found = []
    with connection.cursor() as cursor:
        for model in apps.get_models():
            table = model._meta.db_table
            columns = [field.column for field in model._meta.concrete_fields]
            quoted = ", ".join(connection.ops.quote_name(column) for column in columns)
            cursor.execute(f"SELECT {quoted} FROM {connection.ops.quote_name(table)}")  # noqa: S608 - names from models
            for row in cursor.fetchall():
                for column, value in zip(columns, row, strict=True):
                    raw = bytes(value) if isinstance(value, bytes | memoryview) else str(value).encode()
                    if any(needle.encode() in raw for needle in needles):
                        found.append(f"{table}.{column}")
    return sorted(set(found))


def summary_with_passport() -> bytes:
    """An IPS whose Patient is the case's (Jane Doe, born 1980-05-17) with her US passport as an identifier."""
    patient = {
        "resourceType": "Patient",
        "identifier": [
            {
                "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "PPN"}]},
                "system": "http://hl7.org/fhir/sid/passport-USA",
                "value": "X1234567",
            }
        ],
        "name": [{"family": "Doe", "given": ["Jane"]}],
        "gender": "female",
        "birthDate": "1980-05-17",
    }
    return as_bytes(ips_document(patient=patient))


def test_no_column_of_any_table_holds_a_passport_number_in_plain_text(accepted, users, signatory, companion):
    letter = issue(users["coordinator"], accepted, companions=[str(companion.pk)])
    assert letter.snapshot["invitee"]["passport_number"] == "X1234567"  # the code still sees it
    assert "X1234567" in pdf_text(bytes(InvitationLetter.objects.get(pk=letter.pk).pdf))
    document, created = records.import_document(users["coordinator"], accepted, summary_with_passport())
    assert created and "X1234567" in IpsDocument.objects.get(pk=document.pk).content  # the code reads it back
    assert cells_holding(PASSPORTS) == []


def test_a_sealed_summary_is_stored_once_and_read_after_rotation(accepted, users, settings):
    content = summary_with_passport()
    first, created = records.import_document(users["coordinator"], accepted, content)
    again, created_again = records.import_document(users["coordinator"], accepted, content)
    assert created and not created_again and again.pk == first.pk  # de-duplicated by the canonical hash
    with connection.cursor() as cursor:
        cursor.execute("SELECT content FROM records_ipsdocument WHERE id = %s", [first.pk])
        raw = cursor.fetchone()[0]
    assert raw.startswith(crypto.SEALED_PREFIX) and len(raw) < len(content)  # compressed before encrypted
    derived = base64.urlsafe_b64encode(hashlib.sha256(f"laihua-field-key:{settings.SECRET_KEY}".encode()).digest())
    new = Fernet.generate_key().decode()
    with override_settings(FIELD_ENCRYPTION_KEYS=[new, derived.decode()]):
        crypto.reencrypt_all()
    with override_settings(FIELD_ENCRYPTION_KEYS=[new]):
        assert IpsDocument.objects.get(pk=first.pk).content == content.decode()


def test_the_scan_would_see_a_plain_number(accepted):
    accepted.description = "passport X1234567"
    accepted.save()
    assert cells_holding(PASSPORTS) == ["cases_case.description"]


def test_letters_are_rewritten_with_a_new_key_and_read_after_rotation(accepted, users, signatory, settings):
    derived = base64.urlsafe_b64encode(hashlib.sha256(f"laihua-field-key:{settings.SECRET_KEY}".encode()).digest())
    old, new = derived.decode(), Fernet.generate_key().decode()  # the profiles were written with the tests' key
    letter = issue(users["coordinator"], accepted)
    with override_settings(FIELD_ENCRYPTION_KEYS=[new, old]):
        crypto.reencrypt_all()
    with override_settings(FIELD_ENCRYPTION_KEYS=[new]):
        again = InvitationLetter.objects.get(pk=letter.pk)
        assert again.snapshot["invitee"]["passport_number"] == "X1234567"
        assert "X1234567" in pdf_text(bytes(again.pdf))

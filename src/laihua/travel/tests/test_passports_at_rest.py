"""No passport number lies in the database in plain text: not in profiles, not in the letters printed from
them, not in their PDFs; and old keys still read them after a key rotation."""

import base64
import hashlib

import pytest
from cryptography.fernet import Fernet
from django.apps import apps
from django.db import connection
from django.test import override_settings

from laihua.kit import crypto
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


def test_no_column_of_any_table_holds_a_passport_number_in_plain_text(accepted, users, signatory, companion):
    letter = issue(users["coordinator"], accepted, companions=[str(companion.pk)])
    assert letter.snapshot["invitee"]["passport_number"] == "X1234567"  # the code still sees it
    assert "X1234567" in pdf_text(bytes(InvitationLetter.objects.get(pk=letter.pk).pdf))
    assert cells_holding(PASSPORTS) == []


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

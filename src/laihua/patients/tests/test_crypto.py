"""Passport numbers are encrypted at rest, readable with any configured key, and keys can be rotated."""

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.core.management import call_command
from django.db import connection

from laihua.kit import crypto
from laihua.patients.models import Companion, Patient
from tests.builders import make_patient, make_user

OLD_KEY = Fernet.generate_key().decode()
NEW_KEY = Fernet.generate_key().decode()


def raw_column(table: str, pk: int, column: str = "passport_number") -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {table} WHERE id = %s", [pk])
        return cursor.fetchone()[0]


def test_the_passport_number_is_not_stored_in_plain_text(patient):
    stored = raw_column("patients_patient", patient.pk)
    assert "X1234567" not in stored
    assert stored.startswith(crypto.PREFIX)
    assert Patient.objects.get(pk=patient.pk).passport_number == "X1234567"


def test_a_companions_passport_number_is_encrypted_too(patient):
    companion = Companion.objects.create(
        patient=patient,
        family_name="Doe",
        given_names="John",
        relation="husband",
        sex="M",
        date_of_birth="1979-01-02",
        nationality="US",
        passport_number="C7654321",
    )
    assert "C7654321" not in raw_column("patients_companion", companion.pk)
    assert Companion.objects.get(pk=companion.pk).passport_number == "C7654321"


def test_the_same_number_encrypts_differently_each_time():
    assert crypto.encrypt("X1234567") != crypto.encrypt("X1234567")


def test_values_read_through_values_list_are_decrypted_too(patient):
    assert list(Patient.objects.values_list("passport_number", flat=True)) == ["X1234567"]


def test_key_rotation_with_two_keys(settings, users):
    settings.FIELD_ENCRYPTION_KEYS = [OLD_KEY]
    patient = make_patient(users["patient"], passport_number="OLD12345")

    settings.FIELD_ENCRYPTION_KEYS = [NEW_KEY, OLD_KEY]  # a new key in front: old values still read
    assert Patient.objects.get(pk=patient.pk).passport_number == "OLD12345"
    newer = make_patient(make_user("p2", "patient"), passport_number="NEW12345")
    token = raw_column("patients_patient", newer.pk)[len(crypto.PREFIX) :]
    assert Fernet(NEW_KEY.encode()).decrypt(token.encode()) == b"NEW12345"  # written with the newest key

    settings.FIELD_ENCRYPTION_KEYS = [NEW_KEY]  # before rotating, the old key is still needed
    with pytest.raises(ImproperlyConfigured):
        Patient.objects.get(pk=patient.pk)

    settings.FIELD_ENCRYPTION_KEYS = [NEW_KEY, OLD_KEY]
    call_command("rotate_field_keys", verbosity=0)
    settings.FIELD_ENCRYPTION_KEYS = [NEW_KEY]  # after rotating, the old key can go
    assert Patient.objects.get(pk=patient.pk).passport_number == "OLD12345"
    assert Patient.objects.get(pk=newer.pk).passport_number == "NEW12345"


def test_rotation_rewrites_the_ciphertext_and_leaves_every_other_column_as_it_was(patient):
    before = Patient.objects.filter(pk=patient.pk).values("updated_at", "family_name").get()
    ciphertext = raw_column("patients_patient", patient.pk)
    assert crypto.reencrypt_all() == 1
    assert raw_column("patients_patient", patient.pk) != ciphertext
    assert Patient.objects.filter(pk=patient.pk).values("updated_at", "family_name").get() == before
    assert Patient.objects.get(pk=patient.pk).passport_number == "X1234567"


def test_a_key_that_is_not_a_fernet_key_stops_with_a_clear_error(settings):
    settings.FIELD_ENCRYPTION_KEYS = ["not-a-key"]
    with pytest.raises(ImproperlyConfigured, match="LAIHUA_FIELD_KEYS"):
        crypto.encrypt("X")


def test_a_value_not_written_by_laihua_is_refused():
    with pytest.raises(ImproperlyConfigured):
        crypto.decrypt("X1234567")


def test_the_plain_length_is_checked(patient):
    patient.passport_number = "A" * 21
    with pytest.raises(ValidationError) as caught:
        patient.full_clean()
    assert "passport_number" in caught.value.message_dict


def test_mask_shows_only_the_last_three_characters():
    assert crypto.mask("E12345678") == "••••••678"
    assert crypto.mask("AB") == "••"
    assert crypto.mask("") == ""


def test_generate_field_key_prints_a_usable_key(capsys):
    call_command("generate_field_key")
    key = capsys.readouterr().out.strip()
    assert Fernet(key.encode()).decrypt(Fernet(key.encode()).encrypt(b"ok")) == b"ok"

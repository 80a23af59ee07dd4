"""What patients type into the forms, as builders for the tests."""

import datetime

from laihua.kit import clock


def registration_data(**changes) -> dict:
    """What a patient types into the registration form."""
    today = clock.today()
    data = {
        "family_name": "Smith",
        "given_names": "Emma Jane",
        "sex": "F",
        "date_of_birth": "1984-02-29",
        "nationality": "GB",
        "passport_number": "  123 456-789 ",
        "passport_expiry": (today + datetime.timedelta(days=3 * 365)).isoformat(),
        "languages": ["en", "fr"],
        "preferred_currency": "GBP",
        "email": "Emma.Smith@Example.test",
        "phone": "+44 20 7946 0000",
        "address": "1 Example Street\nLondon",
        "emergency_name": "Tom Smith",
        "emergency_relation": "husband",
        "emergency_phone": "+44 20 7946 0001",
        "password1": "a-long-secret-phrase-42",
        "password2": "a-long-secret-phrase-42",
    }
    data.update(changes)
    return data


def profile_data(patient, **changes) -> dict:
    """The profile form as the patient's edit page would post it back."""
    data = {
        "family_name": patient.family_name,
        "given_names": patient.given_names,
        "sex": patient.sex,
        "date_of_birth": patient.date_of_birth.isoformat(),
        "nationality": patient.nationality.code,
        "passport_number": patient.passport_number,
        "passport_expiry": (clock.today() + datetime.timedelta(days=900)).isoformat(),
        "languages": list(patient.languages),
        "preferred_currency": patient.preferred_currency,
        "email": patient.email,
        "phone": patient.phone or "+1 212 555 0100",
        "address": patient.address,
        "emergency_name": patient.emergency_name,
        "emergency_relation": patient.emergency_relation,
        "emergency_phone": patient.emergency_phone,
    }
    data.update(changes)
    return data


def companion_data(**changes) -> dict:
    data = {
        "family_name": "Doe",
        "given_names": "John",
        "relation": "husband",
        "sex": "M",
        "date_of_birth": "1978-07-01",
        "nationality": "US",
        "passport_number": "c7654321",
    }
    data.update(changes)
    return data

"""Demo data: a fictional profile for every demo patient account (hospitals/demo.py creates the accounts).

Every person, passport number and address here is invented. Loading twice is harmless: each profile is
found by its account and brought back to this description; companions by their name.
"""

import datetime
from dataclasses import dataclass, field

from django.db import transaction

from laihua.accounts.models import Role, User
from laihua.patients.models import Companion, Patient


@dataclass(frozen=True)
class DemoCompanion:
    family_name: str
    given_names: str
    relation: str
    sex: str
    date_of_birth: datetime.date
    nationality: str
    passport_number: str


@dataclass(frozen=True)
class DemoProfile:
    family_name: str
    given_names: str
    sex: str
    date_of_birth: datetime.date
    nationality: str
    passport_number: str
    passport_expiry: datetime.date
    languages: tuple[str, ...]
    currency: str
    phone: str
    address: str
    emergency: tuple[str, str, str]  # name, relation, phone
    companions: tuple[DemoCompanion, ...] = field(default=())


# In the order of the demo patient accounts; the first also brings a companion.
PROFILES = (
    DemoProfile(
        "Patient",
        "Alex",
        "M",
        datetime.date(1968, 3, 14),
        "US",
        "DM0000101",
        datetime.date(2032, 6, 30),
        ("en",),
        "USD",
        "+1 555 0100 101",
        "101 Example Street, Springfield, IL 62701, USA (demo)",
        ("Jordan Patient", "spouse", "+1 555 0100 102"),
        (DemoCompanion("Patient", "Jordan", "spouse", "F", datetime.date(1970, 9, 2), "US", "DM0000102"),),
    ),
    DemoProfile(
        "Sample",
        "Olivia Grace",
        "F",
        datetime.date(1985, 11, 23),
        "GB",
        "DM0000201",
        datetime.date(2031, 2, 28),
        ("en", "fr"),
        "GBP",
        "+44 20 0000 0201",
        "2 Demo Lane, London SW1A 0AA, United Kingdom (demo)",
        ("Henry Sample", "brother", "+44 20 0000 0202"),
    ),
    DemoProfile(
        "Primerova",
        "Anna",
        "F",
        datetime.date(1979, 7, 8),
        "RU",
        "DM0000301",
        datetime.date(2030, 10, 15),
        ("ru", "en"),
        "RUB",
        "+7 495 000 0301",
        "Demo Street 3, Moscow, Russia (demo)",
        ("Ivan Primerov", "husband", "+7 495 000 0302"),
    ),
    DemoProfile(
        "Mustermann",
        "Max",
        "M",
        datetime.date(1957, 1, 30),
        "DE",
        "DM0000401",
        datetime.date(2029, 4, 1),
        ("de", "en"),
        "EUR",
        "+49 30 0000 0401",
        "Musterstraße 4, 10115 Berlin, Germany (demo)",
        ("Erika Mustermann", "wife", "+49 30 0000 0402"),
    ),
    DemoProfile(
        "Al Mithal",
        "Khalid",
        "M",
        datetime.date(1990, 5, 19),
        "AE",
        "DM0000501",
        datetime.date(2033, 12, 31),
        ("ar", "en"),
        "AED",
        "+971 4 000 0501",
        "Villa 5, Example Road, Dubai, United Arab Emirates (demo)",
        ("Fatima Al Mithal", "sister", "+971 4 000 0502"),
    ),
)


def demo_patient_users() -> list[User]:
    """The demo's patient accounts, in the order hospitals/demo.py declares them."""
    from laihua.hospitals.demo import USERS

    usernames = [spec.username for spec in USERS if spec.role == Role.PATIENT]
    found = {user.username: user for user in User.objects.filter(username__in=usernames, role=Role.PATIENT)}
    return [found[name] for name in usernames if name in found]


@transaction.atomic
def load() -> int:
    """Give every demo patient account its profile (and companions); returns how many were created."""
    created = 0
    for index, user in enumerate(demo_patient_users()):
        spec = PROFILES[index % len(PROFILES)]
        patient, was_created = Patient.objects.update_or_create(
            user=user,
            defaults={
                "family_name": spec.family_name,
                "given_names": spec.given_names,
                "sex": spec.sex,
                "date_of_birth": spec.date_of_birth,
                "nationality": spec.nationality,
                "passport_number": spec.passport_number,
                "passport_expiry": spec.passport_expiry,
                "languages": list(spec.languages),
                "preferred_currency": spec.currency,
                "email": user.email or f"{user.username}@demo.example",
                "phone": spec.phone,
                "address": spec.address,
                "emergency_name": spec.emergency[0],
                "emergency_relation": spec.emergency[1],
                "emergency_phone": spec.emergency[2],
            },
        )
        created += was_created
        for companion in spec.companions if index < len(PROFILES) else ():
            Companion.objects.update_or_create(
                patient=patient,
                family_name=companion.family_name,
                given_names=companion.given_names,
                defaults={
                    "relation": companion.relation,
                    "sex": companion.sex,
                    "date_of_birth": companion.date_of_birth,
                    "nationality": companion.nationality,
                    "passport_number": companion.passport_number,
                },
            )
    return created

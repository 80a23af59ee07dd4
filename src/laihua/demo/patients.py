"""A fictional profile for every demo patient account (demo.hospitals makes the accounts): people.yaml, patients.

Every person, passport number and address there is invented. Loading twice is harmless: each profile is
found by its account and brought back to the data; companions by their name.
"""

import datetime
from dataclasses import dataclass

from django.db import transaction

from laihua.accounts.models import Role, User
from laihua.demo import datafiles
from laihua.demo.hospitals import USERS
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
    emergency: dict  # name, relation, phone
    companions: tuple[DemoCompanion, ...] = ()


def _profile(entry: dict) -> DemoProfile:
    dates = {key: datetime.date.fromisoformat(entry[key]) for key in ("date_of_birth", "passport_expiry")}
    companions = tuple(
        DemoCompanion(**{**companion, "date_of_birth": datetime.date.fromisoformat(companion["date_of_birth"])})
        for companion in entry.get("companions", ())
    )
    return DemoProfile(**{**entry, **dates, "languages": tuple(entry["languages"]), "companions": companions})


# In the order of the demo patient accounts; the first also brings a companion.
PROFILES = tuple(_profile(entry) for entry in datafiles.read("people")["patients"])


def demo_patient_users() -> list[User]:
    """The demo's patient accounts, in the order people.yaml gives them."""
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
                "emergency_name": spec.emergency["name"],
                "emergency_relation": spec.emergency["relation"],
                "emergency_phone": spec.emergency["phone"],
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

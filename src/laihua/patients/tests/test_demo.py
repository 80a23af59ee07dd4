"""The demo patients' profiles: fictional, varied, valid by the site's own rules, and loaded idempotently."""

import pytest

from laihua.accounts.models import Role
from laihua.demo import patients as demo
from laihua.demo.hospitals import USERS
from laihua.patients.forms import clean_name, normalise_passport
from laihua.patients.models import Companion, Patient
from tests.builders import make_user

pytestmark = pytest.mark.django_db


def demo_patients():
    return [make_user(spec.username, Role.PATIENT) for spec in USERS if spec.role == Role.PATIENT]


def test_every_demo_patient_gets_a_profile_and_loading_twice_changes_nothing(db):
    users = demo_patients()
    assert users, "hospitals/demo.py declares at least one demo patient"
    assert demo.load() == len(users)
    assert demo.load() == 0
    assert Patient.objects.count() == len(users)
    assert Companion.objects.count() == 1
    first = Patient.objects.get(user=users[0])
    assert first.nationality.code == "US" and first.companions.get().relation == "spouse"


def test_a_profile_edited_in_the_demo_is_brought_back(db):
    user = demo_patients()[0]
    demo.load()
    Patient.objects.filter(user=user).update(phone="+1 000 000 0000")
    demo.load()
    assert Patient.objects.get(user=user).phone == demo.PROFILES[0].phone


def test_the_demo_profiles_are_varied_and_pass_the_sites_own_checks():
    assert {"US", "GB", "RU", "DE", "AE"} <= {profile.nationality for profile in demo.PROFILES}
    for profile in demo.PROFILES:
        assert normalise_passport(profile.passport_number) == profile.passport_number
        assert clean_name(profile.family_name) == profile.family_name
        assert clean_name(profile.given_names) == profile.given_names
        for companion in profile.companions:
            assert normalise_passport(companion.passport_number) == companion.passport_number


def test_only_demo_patient_accounts_get_a_profile(db, users):
    demo_patients()
    demo.load()
    assert not Patient.objects.filter(user=users["patient"]).exists()

"""Plain builders and fixtures: two demo-like hospitals, a user per role, catalog items with prices."""

import datetime
from decimal import Decimal

import pytest

from laihua.accounts.models import Role, User
from laihua.catalog.models import CatalogItem, ComparableService, Price, ReferencePrice
from laihua.hospitals.models import City, Department, Hospital

PASSWORD = "correct-horse-battery-staple"


def make_city(slug="shanghai", en="Shanghai", zh="上海"):
    return City.objects.get_or_create(slug=slug, defaults={"name": {"en": en, "zh-hans": zh}})[0]


def make_hospital(slug="east", city=None, en="East Demo Hospital", zh="东方示范医院", **extra):
    hospital = Hospital.objects.create(
        slug=slug,
        name={"en": en, "zh-hans": zh},
        city=city or make_city(),
        address={"en": "1 Demo Road", "zh-hans": "示范路1号"},
        accreditations=["JCI"],
        languages=["en", "zh"],
        intl_phone="+86 21 0000 0000",
        intl_email=f"intl@{slug}.example",
        is_demo=True,
        **extra,
    )
    Department.objects.create(hospital=hospital, code="radiology", name={"en": "Radiology", "zh-hans": "放射科"})
    Department.objects.create(hospital=hospital, code="orthopaedics", name={"en": "Orthopaedics", "zh-hans": "骨科"})
    return hospital


def make_user(username, role, hospital=None, **extra):
    user = User(username=username, role=role, hospital=hospital, email=f"{username}@example.test", **extra)
    user.set_password(PASSWORD)
    user.save()
    return user


def make_comparable(key="mri", en="MRI scan", zh="磁共振成像"):
    return ComparableService.objects.get_or_create(key=key, defaults={"name": {"en": en, "zh-hans": zh}})[0]


def make_item(
    hospital,
    code="MRI-01",
    price=Decimal("486.00"),
    price_max=None,
    kind="imaging",
    en="MRI scan, one region",
    zh="核磁共振成像（单部位）",
    comparable=None,
    department="radiology",
    effective_from=datetime.date(2020, 1, 1),
    **extra,
):
    item = CatalogItem.objects.create(
        hospital=hospital,
        code=code,
        kind=kind,
        department=hospital.departments.filter(code=department).first(),
        name={"en": en, "zh-hans": zh},
        keywords=extra.pop("keywords", "MRI 核磁"),
        comparable=comparable,
        **extra,
    )
    Price.objects.create(item=item, effective_from=effective_from, amount_min=price, amount_max=price_max or price)
    return item


def make_reference(comparable, country="US", amount=Decimal("1119"), currency="USD", year=2015):
    return ReferencePrice.objects.create(
        comparable=comparable,
        country=country,
        amount=amount,
        currency=currency,
        year=year,
        source="International Federation of Health Plans, 2015 Comparative Price Report",
    )


@pytest.fixture
def city(db):
    return make_city()


@pytest.fixture
def hospital(db):
    return make_hospital()


@pytest.fixture
def other_hospital(db):
    return make_hospital(
        "west", city=make_city("beijing", "Beijing", "北京"), en="West Demo Hospital", zh="西部示范医院"
    )


@pytest.fixture
def users(db, hospital, other_hospital):
    """One user per role at `hospital`, plus a coordinator and an admin at `other_hospital`."""
    return {
        "platform_admin": make_user("platform", Role.PLATFORM_ADMIN),
        "hospital_admin": make_user("east-admin", Role.HOSPITAL_ADMIN, hospital),
        "coordinator": make_user("east-coord", Role.COORDINATOR, hospital),
        "clinician": make_user("east-doc", Role.CLINICIAN, hospital),
        "finance": make_user("east-finance", Role.FINANCE, hospital),
        "insurer_agent": make_user("insurer", Role.INSURER_AGENT),
        "patient": make_user("patient", Role.PATIENT),
        "other_coordinator": make_user("west-coord", Role.COORDINATOR, other_hospital),
        "other_admin": make_user("west-admin", Role.HOSPITAL_ADMIN, other_hospital),
    }


@pytest.fixture
def mri(db, hospital):
    return make_item(hospital, comparable=make_comparable())


def make_patient(user, *, nationality="US", currency="USD", **extra):
    from laihua.patients.models import Patient

    values = {
        "family_name": "Doe",
        "given_names": "Jane",
        "sex": "F",
        "date_of_birth": datetime.date(1980, 5, 17),
        "nationality": nationality,
        "passport_number": "X1234567",
        "preferred_currency": currency,
        "email": user.email,
        "languages": ["en"],
    }
    values.update(extra)
    return Patient.objects.create(user=user, **values)


def make_case(patient, hospital, *, state="inquiry", services=(), **extra):
    from laihua.cases.models import Case

    case = Case.objects.create(patient=patient, hospital=hospital, state=state, **extra)
    case.reference = f"LH-{case.created_at:%Y}-{case.pk:06d}"
    case.save(update_fields=["reference"])
    case.services.set(services)
    return case


@pytest.fixture
def patient(users):
    """The profile of users["patient"] (an American, paying in USD)."""
    return make_patient(users["patient"])


@pytest.fixture
def other_patient(db):
    """Another patient, a German paying in EUR, with an account of their own."""
    user = make_user("other-patient", Role.PATIENT)
    return make_patient(user, nationality="DE", currency="EUR", family_name="Muster", given_names="Max")


@pytest.fixture
def case(patient, hospital, mri):
    """A fresh inquiry by `patient` at `hospital` about the MRI."""
    return make_case(patient, hospital, services=[mri], description="Knee pain after a fall.")

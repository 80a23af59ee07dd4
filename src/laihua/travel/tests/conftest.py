import datetime

import pytest

from laihua.kit import clock
from laihua.travel.models import LetterSettings
from tests.builders import make_case


@pytest.fixture
def signatory(hospital):
    return LetterSettings.objects.create(
        hospital=hospital,
        signatory_name={"en": "ZHANG Wei", "zh-hans": "张伟"},
        signatory_title={"en": "Director, International Medical Department", "zh-hans": "国际医疗部主任"},
        reference_prefix="EAST",
    )


@pytest.fixture
def accepted(patient, hospital, mri):
    """An accepted case with planned dates a month ahead."""
    arrival = clock.today() + datetime.timedelta(days=30)
    return make_case(
        patient,
        hospital,
        state="accepted",
        services=[mri],
        department=hospital.departments.get(code="radiology"),
        desired_arrival=arrival,
        desired_departure=arrival + datetime.timedelta(days=12),
        description="Knee pain after a fall.",
    )


@pytest.fixture
def companion(patient):
    return patient.companions.create(
        family_name="Doe",
        given_names="John",
        relation="husband",
        sex="M",
        date_of_birth=datetime.date(1978, 2, 3),
        nationality="US",
        passport_number="C7654321",
    )


def letter_data(case, **extra):
    values = {
        "arrival": case.desired_arrival.isoformat(),
        "departure": case.desired_departure.isoformat(),
        "purpose": "MRI of the right knee and orthopaedic consultation",
        "payer": "self",
        "payer_name": "",
        "companions": [],
    }
    values.update(extra)
    return values

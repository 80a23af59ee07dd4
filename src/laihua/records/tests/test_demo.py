"""The demo: the demo patient's first case has an imported summary (with Chinese terms) and a consent."""

import pytest

from laihua.demo import records as demo
from laihua.records import identity, ips, services
from laihua.records.models import ClinicalItem, Consent, IpsDocument

pytestmark = pytest.mark.django_db


def test_demo_records_load_once(monkeypatch, patient, case):
    monkeypatch.setattr("laihua.demo.patients.demo_patient_users", lambda: [patient.user])
    demo.load()
    demo.load()
    assert IpsDocument.objects.filter(case=case).count() == 1
    assert Consent.objects.filter(case=case, status="active").count() == 1
    document = IpsDocument.objects.get()
    assert ClinicalItem.objects.filter(document=document).count() == 3
    records = services.case_records(patient.user, case)
    problem = next(i for i in records["items"] if i.kind == "problem")
    assert problem.display_zh == "更年期潮热"
    parsed = ips.parse(document.content)
    assert identity.differences(parsed.patient(), patient) == []  # the demo document is the demo patient's
    assert not identity.passports(parsed.patient())  # no passport number in a stored document: none is needed to match


def test_demo_without_patient_does_nothing(db, monkeypatch):
    monkeypatch.setattr("laihua.demo.patients.demo_patient_users", lambda: [])
    demo.load()
    assert not IpsDocument.objects.exists()

"""The fhir.resources model check in a helper process beside the import (kit.fhircheck): the same verdict as
in the importing process, whatever becomes of the helper; and one import at a time on a case."""

import os
import signal
import threading
import time

import pytest
from django.db import close_old_connections, connection, transaction

from laihua.kit import fhircheck
from laihua.kit.fhirxml import to_xml
from laihua.records import ips, services
from laihua.records.models import ClinicalItem, IpsDocument
from laihua.records.tests.conftest import as_bytes, example_bytes
from laihua.records.tests.test_items import condition
from laihua.records.tests.test_listing import document

pytestmark = pytest.mark.django_db

HELPER = (os.cpu_count() or 1) > 1


def broken(minimal) -> dict:
    minimal["entry"][2]["resource"]["colour"] = "blue"
    minimal["entry"][1]["resource"]["birthDate"] = "not a date"
    return minimal


def test_the_helper_finds_what_the_models_find_in_this_process(minimal):
    data = broken(minimal)
    in_process = fhircheck.bundle_errors(data)
    places = {loc[:4] for loc, _msg, _kind in in_process}
    assert {("entry", 1, "resource", "birthDate"), ("entry", 2, "resource", "colour")} <= places
    check = fhircheck.start(text=as_bytes(data))
    assert check.in_helper is HELPER
    assert check.errors() == in_process
    assert fhircheck.start(text=example_bytes("hl7-bundle-minimal.json")).errors() == []


def test_a_refused_json_document_lists_the_same_issues_with_or_without_the_helper(case, users, minimal, monkeypatch):
    content = as_bytes(broken(minimal))
    with pytest.raises(ips.IpsInvalid) as beside:
        services.import_document(users["clinician"], case, content)
    monkeypatch.setattr(fhircheck, "_unavailable", True)
    with pytest.raises(ips.IpsInvalid) as within:
        services.import_document(users["clinician"], case, content)
    assert beside.value.issues == within.value.issues
    assert {i["expression"] for i in beside.value.issues} >= {"Bundle.entry[2].resource.colour"}
    assert not IpsDocument.objects.exists() and not ClinicalItem.objects.exists()


def test_an_xml_document_is_checked_as_its_json_form(case, users, monkeypatch):
    """The check of an XML document begins once it is read (its JSON form goes to the helper)."""
    sent = []
    start = fhircheck.start
    monkeypatch.setattr(fhircheck, "start", lambda data=None, text=None: sent.append((data, text)) or start(data, text))
    good = to_xml(ips.decode(example_bytes("hl7-bundle-minimal.json"))[0])
    stored, created = services.import_document(users["clinician"], case, good)
    assert created and stored.source_format == "xml"
    [(data, text)] = sent  # begun once the XML was read, with its decoded form
    assert text is None and data["resourceType"] == "Bundle"


@pytest.mark.skipif(not HELPER, reason="one core: the check runs in the importing process")
def test_a_helper_killed_between_imports_or_during_one_changes_no_verdict(case, users, minimal):
    services.import_document(users["clinician"], case, example_bytes("hl7-bundle-minimal.json"))
    helper = fhircheck._get()
    os.kill(helper.process.pid, signal.SIGKILL)
    helper.process.join(5)
    content = as_bytes(broken(minimal))
    with pytest.raises(ips.IpsInvalid) as caught:  # checked in this process, the helper being gone
        services.import_document(users["clinician"], case, content)
    assert "Bundle.entry[2].resource.colour" in {i["expression"] for i in caught.value.issues}
    # a new helper serves the next import
    other = document([condition("38341003", "Hypertension", "active", "2020-01-01")], 7)
    stored, created = services.import_document(users["clinician"], case, other)
    assert created and fhircheck._get() is not helper and fhircheck._get().process.is_alive()


@pytest.mark.skipif(not HELPER, reason="one core: the check runs in the importing process")
def test_a_helper_that_does_not_answer_is_dropped_and_the_check_made_in_place(case, users, minimal, monkeypatch):
    services.import_document(users["clinician"], case, example_bytes("hl7-bundle-minimal.json"))
    stuck = fhircheck._get()
    os.kill(stuck.process.pid, signal.SIGSTOP)
    monkeypatch.setattr(fhircheck, "WAIT_SECONDS", 0.5)
    with pytest.raises(ips.IpsInvalid) as caught:
        services.import_document(users["clinician"], case, as_bytes(broken(minimal)))
    assert "Bundle.entry[2].resource.colour" in {i["expression"] for i in caught.value.issues}
    stuck.process.join(5)
    assert not stuck.process.is_alive()  # killed, not left stopped
    assert (
        fhircheck._get() is not stuck and fhircheck.start(text=example_bytes("hl7-bundle-minimal.json")).errors() == []
    )


@pytest.mark.skipif(not HELPER, reason="one core: the check runs in the importing process")
def test_an_import_refused_before_it_reads_the_check_leaves_the_helper_free(case, users):
    someone_else = example_bytes("hl7-bundle-minimal.json")
    case.patient.date_of_birth = case.patient.date_of_birth.replace(year=1901)
    case.patient.save()
    with pytest.raises(services.PatientMismatch):
        services.import_document(users["clinician"], case, someone_else)
    assert not fhircheck._get().lock.locked()
    assert fhircheck.start(text=someone_else).in_helper


@pytest.mark.django_db(transaction=True)
def test_two_imports_on_one_case_take_turns(case, users):
    """The second import waits for the first to commit, then finds its item: one current item, not two."""
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises every writer")
    clinician = users["clinician"]
    first = condition("38341003", "Hypertension", "active", "2020-01-01", _fullUrl="urn:uuid:aaaaaaaa-0000-4000-8000-1")
    later = {**first, "clinicalStatus": {"coding": [{**first["clinicalStatus"]["coding"][0], "code": "resolved"}]}}
    started, finished = threading.Event(), threading.Event()

    def slow_first():
        try:
            with transaction.atomic():
                services.import_document(clinician, case, document([first], 1, "2026-01-01T00:00:00Z"))
                started.set()
                time.sleep(1.0)  # still uncommitted while the other import starts
        finally:
            close_old_connections()
            connection.close()

    def second():
        started.wait(10)
        try:
            services.import_document(clinician, case, document([later], 2, "2026-02-01T00:00:00Z"))
            finished.set()
        finally:
            connection.close()

    threads = [threading.Thread(target=slow_first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    started.wait(10)
    time.sleep(0.5)
    assert not finished.is_set()  # waiting for the first import's commit
    for thread in threads:
        thread.join(20)
    assert finished.is_set()
    assert list(ClinicalItem.objects.filter(case=case, current=True).values_list("status", flat=True)) == ["resolved"]
    assert ClinicalItem.objects.filter(case=case).count() == 2

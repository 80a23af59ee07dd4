"""What an import writes besides the document and its items (its audit event and its timeline line, in
the statement that stores the document on PostgreSQL), and the fhir.resources models' check, which runs
while PostgreSQL stores the rows: a document only the models refuse keeps nothing."""

import gc
import sys

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from laihua.audit.models import AuditEvent
from laihua.audit.services import seal_if_due
from laihua.cases.models import CaseEvent
from laihua.records import ips, services
from laihua.records.models import ClinicalItem, ClinicalItemKey, IpsDocument
from laihua.records.services import importing
from laihua.records.tests.conftest import as_bytes, example_bytes
from laihua.records.tests.test_identity import her_case  # noqa: F401 - a fixture


def test_an_import_records_its_event_and_timeline_line_as_the_orm_writes_them(
    case, users, django_capture_on_commit_callbacks
):
    clinician = users["clinician"]
    with django_capture_on_commit_callbacks() as hooks, CaptureQueriesContext(connection) as queries:
        document, created = services.import_document(clinician, case, example_bytes("hl7-bundle-minimal.json"))
    assert created
    event = AuditEvent.objects.get(action="records.import")
    assert (event.object_type, event.object_id, event.object_label) == (
        "records.ipsdocument",
        str(document.pk),
        str(document),
    )
    assert (event.actor, event.actor_label, event.actor_role) == (clinician, clinician.username, clinician.role)
    assert event.hospital_id == case.hospital_id and event.seq is None and event.hash == ""
    assert event.detail == {
        "case": case.reference,
        "created": True,
        "items": document.item_count,
        "source": "upload",
        "warnings": len(document.warnings),
        "matched_by_hand": False,
    }
    line = CaseEvent.objects.get(case=case, kind="records_imported")
    assert (line.actor, line.note, line.staff_only, line.detail) == (
        clinician,
        document.title,
        False,
        {"document": document.pk},
    )
    assert document.created_at <= event.at <= line.at
    assert seal_if_due in hooks  # the chain is sealed once it commits
    if connection.vendor == "postgresql":  # written by the statement that stores the document
        inserts = [q["sql"] for q in queries.captured_queries if q["sql"].lstrip().upper().startswith("INSERT")]
        assert inserts == [], inserts

    again, created = services.import_document(clinician, case, example_bytes("hl7-bundle-minimal.json"))
    assert not created and again.pk == document.pk
    second = AuditEvent.objects.filter(action="records.import").exclude(pk=event.pk).get()
    assert second.object_id == str(document.pk) and second.detail["created"] is False
    assert CaseEvent.objects.filter(case=case, kind="records_imported").count() == 1


def test_a_document_only_the_models_refuse_keeps_nothing_and_is_audited(case, users, minimal):
    minimal["entry"][2]["resource"]["colour"] = "blue"
    with pytest.raises(ips.IpsInvalid) as caught:
        services.import_document(users["clinician"], case, as_bytes(minimal))
    assert [i["expression"] for i in caught.value.issues] == ["Bundle.entry[2].resource.colour"]
    assert not IpsDocument.objects.exists() and not ClinicalItem.objects.exists()
    assert not ClinicalItemKey.objects.exists()
    assert not AuditEvent.objects.filter(action="records.import").exists()
    assert not CaseEvent.objects.filter(kind="records_imported").exists()
    assert AuditEvent.objects.get(action="records.import_refused").detail == {"issues": 1, "source": "upload"}
    # the same document without the unknown element is stored as usual afterwards
    del minimal["entry"][2]["resource"]["colour"]
    document, created = services.import_document(users["clinician"], case, as_bytes(minimal))
    assert created and document.items.count() == document.item_count > 0


def test_the_models_errors_come_first_with_the_other_rules_errors(case, users, minimal):
    minimal["entry"][2]["resource"]["colour"] = "blue"
    del minimal["timestamp"]
    with pytest.raises(ips.IpsInvalid) as caught:
        services.import_document(users["clinician"], case, as_bytes(minimal))
    assert [i["expression"] for i in caught.value.issues] == ["Bundle.entry[2].resource.colour", "Bundle.timestamp"]
    assert not IpsDocument.objects.exists()


def test_a_document_about_someone_else_that_the_models_refuse_is_refused_for_its_structure(
    her_case,  # noqa: F811 - the fixture
    users,
    minimal,
):
    minimal["entry"][2]["resource"]["colour"] = "blue"
    reason = "New passport after marriage; the summary is from her own GP, checked by phone."
    with pytest.raises(ips.IpsInvalid) as caught:
        services.import_document(users["clinician"], her_case, as_bytes(minimal), match_reason=reason)
    assert not isinstance(caught.value, services.PatientMismatch)
    assert [i["expression"] for i in caught.value.issues] == ["Bundle.entry[2].resource.colour"]
    assert not IpsDocument.objects.exists()
    assert AuditEvent.objects.get(action="records.import_refused").detail == {"issues": 1, "source": "upload"}


def test_the_foreign_keys_are_deferred_again_after_an_import(case, users):
    """On PostgreSQL the import checks its rows' foreign keys at the end of its statement (SET CONSTRAINTS
    ALL IMMEDIATE), then defers them again: what follows in the transaction is checked at COMMIT, as
    Django's foreign keys are; this holds only because no constraint is deferrable but initially immediate."""
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's deferred constraints")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conrelid::regclass::text, conname FROM pg_constraint WHERE condeferrable AND NOT condeferred"
        )
        assert cursor.fetchall() == []
    services.import_document(users["clinician"], case, example_bytes("hl7-bundle-minimal.json"))
    missing = IpsDocument.objects.order_by("-pk").values_list("pk", flat=True).first() + 1000
    with connection.cursor() as cursor:  # an item of no document: accepted until the constraints are checked
        cursor.execute(
            "INSERT INTO records_clinicalitem (document_id, patient_id, case_id, position, kind, resource_type,"
            " text, codes, status, date, value, detail, source_keys, current)"
            " VALUES (%s, %s, %s, 0, 'problem', 'Condition', 'x', '[]', '', '', '', '{}', '[]', true)",
            [missing, case.patient_id, case.pk],
        )
        with pytest.raises(IntegrityError):
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


def test_an_item_is_of_its_documents_case_and_patient(case, users, hospital):
    """On PostgreSQL one foreign key holds an item's document, case and patient together: an item that names
    its document but another case is refused (at the commit, or here when the constraints are checked)."""
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's composite foreign key")
    from tests.builders import make_case

    document, _created = services.import_document(users["clinician"], case, example_bytes("hl7-bundle-minimal.json"))
    other = make_case(case.patient, hospital)
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO records_clinicalitem (document_id, patient_id, case_id, position, kind, resource_type,"
            " text, codes, status, date, value, detail, source_keys, current)"
            " VALUES (%s, %s, %s, 99, 'problem', 'Condition', 'x', '[]', '', '', '', '{}', '[]', true)",
            [document.pk, case.patient_id, other.pk],
        )
        with pytest.raises(IntegrityError):
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


def test_the_garbage_collector_does_not_run_during_an_import_and_runs_after_it(case, users, minimal):
    """A document's parsed tree and its models are freed by reference counting; the cyclic collector,
    which would walk every object of the process, is paused for the import and resumes after it, refused
    or not."""
    from laihua.records.tests.test_listing import document, problems

    large = document(problems(150), 1)
    minimal["entry"][2]["resource"]["colour"] = "blue"
    refused = as_bytes(minimal)
    started, during = [], []

    def collected(phase, info):
        if phase != "start":
            return
        started.append(info["generation"])
        frame = sys._getframe(1)
        while frame is not None:
            if frame.f_code is importing._import.__code__:
                during.append(info["generation"])
                break
            frame = frame.f_back

    gc.callbacks.append(collected)
    try:
        _document, created = services.import_document(users["clinician"], case, large)
        with pytest.raises(ips.IpsInvalid):
            services.import_document(users["clinician"], case, refused)
        _more = [[] for _ in range(5000)]
    finally:
        gc.callbacks.remove(collected)
    assert created and during == [] and gc.isenabled()
    assert started  # what is allocated after the imports is collected as usual


def test_a_foreign_key_refused_at_the_end_of_the_statement_is_a_database_integrity_error(case, users):
    """The rows' foreign keys are checked while the statement's pipeline ends: the error is Django's, as
    from any other statement, and nothing is kept."""
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's pipeline mode")
    with pytest.raises(IntegrityError), transaction.atomic():  # rolled back: the case is there again
        with connection.cursor() as cursor:  # the case is gone (its rows' foreign keys are checked later)
            cursor.execute("DELETE FROM cases_case WHERE id = %s", [case.pk])
        services.import_document(users["clinician"], case, example_bytes("hl7-bundle-minimal.json"))
    assert not IpsDocument.objects.exists() and not AuditEvent.objects.filter(action="records.import").exists()

"""Clinical data is neither lost nor merged: contained and referenced medications are resolved, every
distinct item is kept and exported with its status, dates, dosage and source, an item imported twice
from the same source is one item, and a structured dosage is kept and read in words in both languages."""

import copy
import io
import json

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import translation
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from laihua.accounts.services import create_api_token
from laihua.records import dosage, ips, services
from laihua.records.models import ClinicalItem
from laihua.records.tests.conftest import as_bytes, example_bytes, ips_document, snomed
from tests.builders import make_case

pytestmark = pytest.mark.django_db

CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
ATC = "http://www.whocc.no/atc"


def bearer(user):
    return {"Authorization": f"Bearer {create_api_token(user, user, 'test')[1]}"}


def condition(code, display, status="active", onset=None, abatement=None, **extra) -> dict:
    resource = {
        "resourceType": "Condition",
        "clinicalStatus": {"coding": [{"system": CLINICAL, "code": status}]},
        "code": snomed(code, display),
        **extra,
    }
    if onset:
        resource["onsetDateTime"] = onset
    if abatement:
        resource["abatementDateTime"] = abatement
    return resource


def statement(medication: dict, *dosages, status="active", **extra) -> dict:
    return {"resourceType": "MedicationStatement", "status": status, **medication, "dosage": list(dosages), **extra}


def tablets(count, per_day, route="26643006") -> dict:
    return {
        "timing": {"repeat": {"frequency": per_day, "period": 1, "periodUnit": "d"}},
        "route": {"coding": [{"system": "http://snomed.info/sct", "code": route, "display": "Oral route"}]},
        "doseAndRate": [{"doseQuantity": {"value": count, "unit": "tablet"}}],
    }


def exported(bundle: dict, resource_type: str) -> list[dict]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == resource_type]


def contained(med_id: str, code: str, name: str) -> dict:
    return {
        "resourceType": "Medication",
        "id": med_id,
        "code": {"coding": [{"system": ATC, "code": code}], "text": name},
    }


# --- references resolved, nothing unnamed -------------------------------------------------------------


def test_contained_medications_are_resolved_and_two_drugs_stay_two(case, users):
    document = ips_document(
        [
            statement({"medicationReference": {"reference": "#med1"}}, status="active")
            | {"contained": [contained("med1", "L02BG03", "Anastrozole 1 mg tablet")]},
            statement({"medicationReference": {"reference": "#med1"}}, status="active")
            | {"contained": [contained("med1", "C09AA05", "Ramipril 5 mg tablet")]},
        ]
    )
    imported, _created = services.import_document(users["clinician"], case, as_bytes(document))
    rows = list(imported.items.order_by("position").values_list("text", "codes"))
    assert [(text, codes[0]["code"]) for text, codes in rows] == [
        ("Anastrozole 1 mg tablet", "L02BG03"),
        ("Ramipril 5 mg tablet", "C09AA05"),
    ]
    medications = exported(services.export_case(users["clinician"], case), "MedicationStatement")
    assert sorted(m["medicationCodeableConcept"]["text"] for m in medications) == [
        "Anastrozole 1 mg tablet",
        "Ramipril 5 mg tablet",
    ]
    assert "unknown" not in json.dumps(medications)


def test_medication_entries_by_full_url_and_ingredients_are_resolved(case, users):
    medication = {
        "fullUrl": "urn:uuid:11111111-2222-4333-8444-555555555555",
        "resource": {
            "resourceType": "Medication",
            "ingredient": [
                {"itemCodeableConcept": {"text": "Amoxicillin"}},
                {"itemCodeableConcept": {"text": "Clavulanic acid"}},
            ],
        },
    }
    document = ips_document(
        [statement({"medicationReference": {"reference": "urn:uuid:11111111-2222-4333-8444-555555555555"}})],
        extra=[medication],
    )
    imported, _created = services.import_document(users["clinician"], case, as_bytes(document))
    assert imported.items.get().text == "Amoxicillin + Clavulanic acid"


@pytest.mark.parametrize(
    "resource",
    [
        statement({"medicationReference": {"reference": "#nowhere"}}),
        {"resourceType": "Condition", "code": {"coding": [{"system": "http://snomed.info/sct"}]}},
        {"resourceType": "Condition"},
    ],
)
def test_an_entry_that_names_nothing_refuses_the_document_naming_the_entry(case, users, resource):
    document = ips_document([condition("38341003", "Hypertension"), resource])
    with pytest.raises(ips.IpsInvalid) as caught:
        services.import_document(users["clinician"], case, as_bytes(document))
    assert "Bundle.entry[3].resource" in [i["expression"] for i in caught.value.issues]
    assert "neither a code nor a text" in json.dumps(caught.value.issues)
    assert not ClinicalItem.objects.exists()


def test_a_reference_with_only_a_display_names_the_medication(case, users):
    document = ips_document(
        [statement({"medicationReference": {"reference": "Medication/gone", "display": "Metformin 500 mg"}})]
    )
    imported, _created = services.import_document(users["clinician"], case, as_bytes(document))
    assert imported.items.get().text == "Metformin 500 mg"
    assert [w["expression"] for w in imported.warnings] == ["Bundle.entry[2].resource.medicationReference"]


# --- every distinct item, once ----------------------------------------------------------------------


def recurring_document() -> dict:
    """23 problems (recurring episodes of one code, an active and a resolved one of another) and 7
    medications (one drug in two regimens)."""
    problems = [
        condition(
            "195967001", "Asthma", "active", f"20{10 + i:02d}-0{1 + i % 9}-01", **({"note": [{"text": f"episode {i}"}]})
        )
        for i in range(10)
    ]
    problems += [
        condition("36971009", "Sinusitis", "resolved", f"2019-0{1 + i}-10", f"2019-0{1 + i}-20") for i in range(6)
    ]
    problems += [condition("36971009", "Sinusitis", "active", "2026-02-01")]
    problems += [
        condition(code, name)
        for code, name in [
            ("38341003", "Hypertension"),
            ("44054006", "Diabetes type 2"),
            ("40930008", "Hypothyroidism"),
            ("35489007", "Depression"),
            ("396275006", "Osteoarthritis"),
            ("13645005", "COPD"),
        ]
    ]
    metformin = {"medicationCodeableConcept": {"coding": [{"system": ATC, "code": "A10BA02"}], "text": "Metformin"}}
    medications = [
        statement(
            metformin, tablets(1, 2), effectivePeriod={"start": "2025-01-01", "end": "2025-06-30"}, status="completed"
        ),
        statement(metformin, tablets(2, 3), effectivePeriod={"start": "2025-07-01"}),
    ]
    for code, name in [
        ("C09AA05", "Ramipril"),
        ("H03AA01", "Levothyroxine"),
        ("N06AB06", "Sertraline"),
        ("R03AC02", "Salbutamol"),
        ("M01AE01", "Ibuprofen"),
    ]:
        medications.append(
            statement(
                {"medicationCodeableConcept": {"coding": [{"system": ATC, "code": code}], "text": name}}, tablets(1, 1)
            )
        )
    return ips_document(problems + medications)


def test_recurring_episodes_and_regimens_are_all_exported_with_status_dates_and_dosage(case, users, patient, hospital):
    imported, _created = services.import_document(users["clinician"], case, as_bytes(recurring_document()))
    assert imported.item_count == 30
    bundle = services.export_case(users["clinician"], case)
    conditions = exported(bundle, "Condition")
    assert len(conditions) == 23
    sinusitis = [c for c in conditions if c["code"]["coding"][0]["code"] == "36971009"]
    assert sorted(c["clinicalStatus"]["coding"][0]["code"] for c in sinusitis) == ["active"] + ["resolved"] * 6
    assert {c.get("abatementDateTime") for c in sinusitis} == {None, *(f"2019-0{1 + i}-20" for i in range(6))}
    medications = exported(bundle, "MedicationStatement")
    assert len(medications) == 7
    metformin = sorted(
        (m for m in medications if m["medicationCodeableConcept"]["text"] == "Metformin"), key=lambda m: m["status"]
    )
    assert [m["status"] for m in metformin] == ["active", "completed"]
    assert [m["dosage"][0]["doseAndRate"][0]["doseQuantity"]["value"] for m in metformin] == [2, 1]
    assert metformin[1]["effectivePeriod"] == {"start": "2025-01-01", "end": "2025-06-30"}
    provenance = exported(bundle, "Provenance")
    assert len(provenance) == 1 and len(provenance[0]["target"]) == 30
    assert provenance[0]["entity"][0]["what"]["identifier"]["value"] == imported.identifier_value
    assert ips.strict_issues(bundle) == []

    again, _created = services.import_document(users["clinician"], make_case(patient, hospital), as_bytes(bundle))
    assert again.item_count == 30


def test_the_same_items_on_the_page_in_the_pdf_and_in_the_export(client, case, users):
    services.import_document(users["clinician"], case, example_bytes("hl7-IPS-bundle-01.xml"))
    services.import_document(users["clinician"], case, example_bytes("hl7-IPS-bundle-with-immunization.xml"))
    assert ClinicalItem.objects.count() == 13 + 14  # each version stored as received
    records = services.case_records(users["clinician"], case)
    assert len(records["items"]) == 14  # the re-sent version's resources are the same items
    from laihua.records.services.exporting import _pdf_context

    assert sum(len(items) for _kind, _label, items in _pdf_context(case)["sections"]) == 14
    bundle = services.export_case(users["clinician"], case)
    items = [
        e
        for e in bundle["entry"]
        if e["fullUrl"]
        in {r["reference"] for s in bundle["entry"][0]["resource"]["section"] for r in s.get("entry", [])}
    ]
    assert len(items) == 14
    api = client.get(f"/api/records/cases/{case.reference}", headers=bearer(users["clinician"])).json()
    assert len(api["items"]) == 14


def test_a_re_sent_document_shows_the_newer_status_once(case, users):
    first = ips_document(
        [
            condition(
                "38341003",
                "Hypertension",
                "active",
                "2020-01-01",
                identifier=[{"system": "urn:oid:1.2.3", "value": "c1"}],
            )
        ]
    )
    services.import_document(users["clinician"], case, as_bytes(first))
    second = copy.deepcopy(first)  # the same resources under new fullUrls, same identifier: a re-sent version
    second["entry"][2]["fullUrl"] = "urn:uuid:99999999-0000-4000-8000-000000000001"
    second["entry"][0]["resource"]["section"][0]["entry"] = [
        {"reference": "urn:uuid:99999999-0000-4000-8000-000000000001"}
    ]
    second["entry"][2]["resource"]["clinicalStatus"]["coding"][0]["code"] = "resolved"
    second["entry"][2]["resource"]["abatementDateTime"] = "2026-01-15"
    second["timestamp"] = "2026-04-01T10:00:00+01:00"
    services.import_document(users["clinician"], case, as_bytes(second))
    (item,) = services.case_records(users["clinician"], case)["items"]
    assert item.status == "resolved"
    (exported_condition,) = exported(services.export_case(users["clinician"], case), "Condition")
    assert exported_condition["abatementDateTime"] == "2026-01-15"


# --- structured dosage --------------------------------------------------------------------------------


def test_a_structured_dosage_without_text_is_kept_and_read_in_both_languages(client, case, users):
    document = ips_document(
        [statement({"medicationCodeableConcept": snomed("108774000", "Anastrozole")}, tablets(1, 2))]
    )
    imported, _created = services.import_document(users["clinician"], case, as_bytes(document))
    item = imported.items.get()
    assert item.value == "" and item.detail["dosage"] == [tablets(1, 2)]
    api = client.get(f"/api/records/cases/{case.reference}", headers=bearer(users["clinician"])).json()
    assert api["items"][0]["dosage_en"] == "1 tablet by mouth twice a day"
    assert api["items"][0]["dosage_zh"] == "口服，每次1片，每日2次"
    client.force_login(users["patient"])
    with translation.override("en"):
        html = client.get(reverse("records:case", args=[case.reference])).content.decode()
    assert "1 tablet by mouth twice a day" in html and "口服，每次1片，每日2次" in html
    (medication,) = exported(services.export_case(users["clinician"], case), "MedicationStatement")
    assert medication["dosage"] == [tablets(1, 2)]


def test_the_hl7_examples_dosage_reads_in_words(case, users):
    services.import_document(users["clinician"], case, example_bytes("hl7-bundle-minimal.json"))
    (medication,) = [i for i in services.case_records(users["clinician"], case)["items"] if i.kind == "medication"]
    assert (medication.dosage_en, medication.dosage_zh) == ("1 tablet by mouth once a day", "口服，每次1片，每日1次")


@pytest.mark.parametrize(
    "given,en,zh",
    [
        (
            {
                "timing": {"code": {"coding": [{"code": "TID"}]}},
                "doseAndRate": [{"doseQuantity": {"value": 2, "unit": "capsules"}}],
            },
            "2 capsules 3 times a day",
            "每次2粒，每日3次",
        ),
        (
            {
                "timing": {"repeat": {"frequency": 1, "period": 8, "periodUnit": "h"}},
                "route": {"coding": [{"system": "http://snomed.info/sct", "code": "47625008"}]},
                "doseAndRate": [{"doseQuantity": {"value": 500, "unit": "mg"}}],
            },
            "500 mg into a vein every 8 hours",
            "静脉注射，每次500毫克，每8小时1次",
        ),
        (
            {
                "timing": {"repeat": {"frequency": 1, "period": 1, "periodUnit": "wk", "when": ["ACM"]}},
                "doseAndRate": [{"doseQuantity": {"value": 70, "unit": "mg"}}],
            },
            "70 mg once a week before breakfast",
            "每次70毫克，每周1次，早餐前",
        ),
        (
            {
                "asNeededBoolean": True,
                "route": {"text": "inhalation"},
                "doseAndRate": [{"doseQuantity": {"value": 2, "unit": "puffs"}}],
            },
            "2 puffs by inhalation, as needed",
            "吸入，每次2喷，必要时",
        ),
        ({"text": "as directed by the doctor"}, "as directed by the doctor", "as directed by the doctor"),
    ],
)
def test_dosages_in_words(given, en, zh):
    assert dosage.in_words([given], "en") == en
    assert dosage.in_words([given], "zh-hans") == zh


# --- invariants ---------------------------------------------------------------------------------------

ITEM = st.fixed_dictionaries(
    {
        "kind": st.sampled_from(["problem", "medication", "allergy"]),
        "code": st.sampled_from([("38341003", "Hypertension"), ("195967001", "Asthma"), ("108774000", "Anastrozole")]),
        "status": st.sampled_from(["active", "resolved", "inactive"]),
        "year": st.integers(min_value=2000, max_value=2025),
        "per_day": st.integers(min_value=1, max_value=4),
    }
)


def resource_of(spec: dict) -> dict:
    code, name = spec["code"]
    if spec["kind"] == "problem":
        return condition(code, name, spec["status"], f"{spec['year']}-01-01")
    if spec["kind"] == "allergy":
        return {
            "resourceType": "AllergyIntolerance",
            "clinicalStatus": {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical",
                        "code": "inactive" if spec["status"] == "inactive" else "active",
                    }
                ]
            },
            "code": snomed(code, name),
            "onsetDateTime": f"{spec['year']}-01-01",
        }
    return statement(
        {"medicationCodeableConcept": snomed(code, name)},
        tablets(1, spec["per_day"]),
        status="completed" if spec["status"] != "active" else "active",
        effectiveDateTime=f"{spec['year']}-01-01",
    )


def fingerprint(items) -> list[tuple]:
    return sorted(
        (i.kind, i.codes[0]["code"], i.status, i.date, json.dumps((i.detail or {}).get("dosage"), sort_keys=True))
        for i in items
    )


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(specs=st.lists(ITEM, min_size=1, max_size=12))
def test_export_keeps_every_distinct_item_and_re_import_is_idempotent(patient, hospital, users, specs):
    clinician = users["clinician"]
    case = make_case(patient, hospital)
    document = ips_document([resource_of(s) for s in specs])
    services.import_document(clinician, case, as_bytes(document))
    before = services.case_records(clinician, case)["items"]
    assert len(before) == len(specs)  # like items are distinct items

    services.import_document(clinician, case, json.dumps(document, indent=3).encode())  # the same, re-indented
    resent = copy.deepcopy(document)
    resent["timestamp"] = "2026-05-01T10:00:00+01:00"  # the same resources in a re-sent document
    services.import_document(clinician, case, as_bytes(resent))
    after = services.case_records(clinician, case)["items"]
    assert fingerprint(after) == fingerprint(before)

    bundle = services.export_case(clinician, case)
    elsewhere = make_case(patient, hospital)
    services.import_document(clinician, elsewhere, as_bytes(bundle))
    services.import_document(clinician, elsewhere, as_bytes(services.export_case(clinician, case)))  # exported again
    assert fingerprint(services.case_records(clinician, elsewhere)["items"]) == fingerprint(before)


def test_refresh_items_derives_the_items_of_documents_stored_before_again(case, users):
    document = ips_document(
        [
            statement({"medicationReference": {"reference": "#med1"}}, tablets(1, 2))
            | {"contained": [contained("med1", "L02BG03", "Anastrozole 1 mg tablet")]}
        ]
    )
    imported, _created = services.import_document(users["clinician"], case, as_bytes(document))
    # what the importer stored before contained resources were resolved and dosages kept
    ClinicalItem.objects.filter(document=imported).update(text="", codes=[], detail={}, source_keys=[])
    out = io.StringIO()
    call_command("records", "refresh-items", "--case", case.reference, stdout=out)
    assert f"refreshed document {imported.pk} (1 items)" in out.getvalue()
    item = ClinicalItem.objects.get()
    assert (item.text, item.codes[0]["code"], item.detail["dosage"]) == (
        "Anastrozole 1 mg tablet",
        "L02BG03",
        [tablets(1, 2)],
    )
    assert item.source_keys


def test_an_items_status_reads_in_words_in_both_languages():
    resolved = ClinicalItem(kind="problem", status="resolved")
    assert resolved.status_text() == "resolved"
    with translation.override("zh-hans"):
        assert resolved.status_text() == "已消退"
        assert ClinicalItem(kind="problem", status="active").status_text() == "活动期"  # not a switch's "启用"
    assert ClinicalItem(kind="result", status="cancelled").status_text() == "cancelled"  # as written

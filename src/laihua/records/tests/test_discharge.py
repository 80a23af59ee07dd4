"""The structured discharge summary: coded diagnoses and procedures, medications with a dosage, dated
follow-up, free text in two languages; its IPS entries; the form's lines; reading old pipe-text summaries."""

import importlib
import json

import pytest
from django.apps import apps
from hypothesis import given
from hypothesis import strategies as st

from laihua.audit.models import AuditEvent
from laihua.errors import InvalidInput, PermissionDenied
from laihua.records import discharge, ips, services
from laihua.records.models import EpisodeSummary, TermTranslation
from laihua.records.tests.conftest import as_bytes

SNOMED = discharge.SNOMED

STRUCTURED = {
    "diagnoses": [{"code": "s83.2", "text": "Tear of meniscus", "text_second": "半月板撕裂"}],
    "procedures": [{"system": SNOMED, "code": "80146002", "text": "Arthroscopy", "date": "2026-12-01"}],
    "medications": [
        {"text": "Ibuprofen", "dose": "400", "unit": "mg", "route": "oral", "frequency": "3", "duration_days": "5"}
    ],
    "follow_ups": [{"date": "2027-01-06", "text": "Physiotherapy check"}],
    "language": "en",
    "plan_of_care": "Rest and physiotherapy",
    "plan_of_care_second": "休息并进行物理治疗",
}


@pytest.fixture
def snomed_term(db):
    return TermTranslation.objects.create(system=SNOMED, code="80146002", en="Arthroscopy", zh_hans="关节镜检查")


def test_a_structured_summary_is_saved_and_audited(case, users, snomed_term):
    summary = services.save_episode_summary(users["clinician"], case, STRUCTURED, complete=True)
    assert summary.diagnoses == [
        {"system": discharge.ICD10, "code": "S83.2", "text": "Tear of meniscus", "text_second": "半月板撕裂"}
    ]
    assert summary.procedures[0]["code"] == "80146002" and summary.procedures[0]["date"] == "2026-12-01"
    med = summary.medications[0]
    assert (med["dose"], med["unit"], med["route"], med["frequency"], med["period_unit"], med["duration_days"]) == (
        400, "mg", "oral", 3, "d", 5,
    )  # fmt: skip
    assert summary.follow_ups == [{"date": "2027-01-06", "text": "Physiotherapy check"}]
    assert AuditEvent.objects.filter(action="records.episode_summary").count() == 1


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"diagnoses": [{"code": "knee"}]}, "diagnoses[0].code"),
        ({"diagnoses": [{"text": "no code"}]}, "diagnoses[0].code"),
        ({"procedures": [{"system": SNOMED, "code": "999", "text": "x"}]}, "procedures[0].code"),
        ({"procedures": [{"text": "x", "date": "01/12/2026"}]}, "procedures[0].date"),
        ({"medications": [{"text": "x", "dose": "-1", "unit": "mg"}]}, "medications[0].dose"),
        ({"medications": [{"text": "x", "dose": "1"}]}, "medications[0].unit"),
        ({"medications": [{"text": "x", "route": "ear"}]}, "medications[0].route"),
        ({"medications": [{"text": "x", "frequency": "2.5"}]}, "medications[0].frequency"),
        ({"follow_ups": [{"date": "2027-02-30", "text": "x"}]}, "follow_ups[0].date"),
        ({"follow_ups": [{"date": "2027-02-01"}]}, "follow_ups[0].text"),
        ({"language": "fr"}, "language"),
        ({"diagnoses": "S83.2"}, "diagnoses"),
    ],
)
def test_bad_lines_name_their_field_and_save_nothing(case, users, snomed_term, change, field):
    with pytest.raises(InvalidInput) as caught:
        services.save_episode_summary(users["clinician"], case, {**STRUCTURED, **change})
    assert caught.value.field == field
    assert not EpisodeSummary.objects.exists()


def test_only_the_hospitals_clinicians_write_it(case, users):
    for role in ("coordinator", "hospital_admin", "patient", "other_coordinator"):
        with pytest.raises(PermissionDenied):
            services.save_episode_summary(users[role], case, STRUCTURED)
    assert not EpisodeSummary.objects.exists()


def test_the_summary_exports_as_its_ips_sections(case, users, snomed_term):
    services.save_episode_summary(users["clinician"], case, STRUCTURED, complete=True)
    bundle = services.build_export(case)
    assert not ips.strict_issues(bundle)
    resources = [e["resource"] for e in bundle["entry"]]
    condition = next(r for r in resources if r["resourceType"] == "Condition")
    assert condition["code"]["coding"][0] == {
        "system": discharge.ICD10,
        "code": "S83.2",
        "display": "Tear of meniscus",
    }
    procedure = next(r for r in resources if r["resourceType"] == "Procedure")
    assert procedure["code"]["coding"][0]["code"] == "80146002" and procedure["performedDateTime"] == "2026-12-01"
    statement = next(r for r in resources if r["resourceType"] == "MedicationStatement")
    (dosage,) = statement["dosage"]
    assert dosage["doseAndRate"][0]["doseQuantity"] == {"value": 400, "unit": "mg"}
    assert dosage["timing"]["repeat"]["frequency"] == 3 and dosage["timing"]["repeat"]["boundsDuration"]["value"] == 5
    assert dosage["route"]["coding"][0]["code"] == "26643006"
    sections = {s["code"]["coding"][0]["code"]: s for s in resources[0]["section"]}
    assert {"11450-4", "10160-0", "47519-4", "18776-5"} <= set(sections)
    plan = sections["18776-5"]["text"]["div"]
    assert "Follow-up 2027-01-06: Physiotherapy check" in plan and "休息并进行物理治疗" in plan
    # imported again, the dosage is read as the same structure
    document, _created = services.import_document(users["clinician"], case, as_bytes(bundle))
    medication = document.items.get(kind="medication")
    assert medication.detail["dosage"] == [dosage]


def test_the_pages_show_the_term_lists_two_languages(client, case, users, snomed_term):
    services.save_episode_summary(users["clinician"], case, STRUCTURED, complete=True)
    client.force_login(users["patient"])
    page = client.get(f"/en/records/cases/{case.reference}/").content.decode()
    assert "Arthroscopy" in page and "关节镜检查" in page and "半月板撕裂" in page
    pdf = client.get(f"/en/records/cases/{case.reference}/summary.pdf")
    assert pdf.status_code == 200


def test_the_form_adds_lines_for_clinicians_only(client, case, users):
    client.force_login(users["clinician"])
    row = client.get(f"/en/records/cases/{case.reference}/discharge/row/medications/")
    assert row.status_code == 200 and 'name="med_dose"' in row.content.decode() and "remove-row" in row.content.decode()
    assert client.get(f"/en/records/cases/{case.reference}/discharge/row/nonsense/").status_code == 404
    form = client.get(f"/en/records/cases/{case.reference}/discharge/").content.decode()
    assert "summary-rows.js" in form and "<script>" not in form and " onclick" not in form
    client.force_login(users["coordinator"])
    assert client.get(f"/en/records/cases/{case.reference}/discharge/row/medications/").status_code == 403
    assert client.get(f"/en/records/cases/{case.reference}/discharge/").status_code == 403


def test_the_api_writes_and_reads_the_structure(client, case, users, snomed_term):
    from laihua.accounts.services import create_api_token

    headers = {"Authorization": f"Bearer {create_api_token(users['clinician'], users['clinician'], 't')[1]}"}
    url = f"/api/records/cases/{case.reference}/episode-summary"
    bad = client.put(
        url,
        json.dumps({"medications": [{"text": "x", "route": "ear"}]}),
        content_type="application/json",
        headers=headers,
    )
    assert bad.status_code == 422 and bad.json()["field"] == "medications[0].route"
    ok = client.put(url, json.dumps({**STRUCTURED, "complete": True}), content_type="application/json", headers=headers)
    assert ok.status_code == 200, ok.content
    body = ok.json()
    assert body["medications"][0]["dose"] == 400 and body["follow_ups"][0]["date"] == "2027-01-06"
    assert body["plan_of_care_second"] == "休息并进行物理治疗" and body["completed_at"]


def _migrate(summary):
    module = importlib.import_module("laihua.records.migrations.0007_discharge_summaries_from_pipe_text")
    module.forwards(apps, None)
    summary.refresh_from_db()
    return summary


def test_old_pipe_text_summaries_are_read_into_the_structure(case):
    old = EpisodeSummary.objects.create(
        case=case,
        diagnoses=[
            {"code": "S83.2", "text": "Tear of meniscus / 半月板撕裂"},
            {"code": "knee", "text": "pain"},
        ],
        procedures=[{"text": "Arthroscopy", "date": "2026-12-01"}, {"text": "Plaster", "date": "last week"}],
        medications=[
            {"text": "Ibuprofen", "dosage": "400 mg by mouth three times a day for 5 days"},
            {"text": "Cream", "dosage": "apply thinly where it hurts"},
        ],
        follow_up="2027-01-06 | Physiotherapy check\nCall if the knee swells",
    )
    summary = _migrate(old)
    assert summary.diagnoses[0] == {
        "system": discharge.ICD10,
        "code": "S83.2",
        "text": "Tear of meniscus",
        "text_second": "半月板撕裂",
    }
    assert summary.diagnoses[1]["code"] == "" and summary.diagnoses[1]["text"] == "pain"
    assert summary.procedures[0]["date"] == "2026-12-01" and summary.procedures[1]["date"] == ""
    ibuprofen, cream = summary.medications
    assert (ibuprofen["dose"], ibuprofen["route"], ibuprofen["frequency"], ibuprofen["duration_days"]) == (
        400, "oral", 3, 5,
    )  # fmt: skip
    assert cream["dose"] is None and cream["dosage_text"] == "apply thinly where it hurts"
    assert summary.follow_ups == [{"date": "2027-01-06", "text": "Physiotherapy check"}]
    assert summary.follow_up == "Call if the knee swells"
    assert "knee | pain" in summary.unparsed and "last week" in summary.unparsed
    assert not ips.strict_issues(services.build_export(case))
    # running it again changes nothing
    before = (summary.diagnoses, summary.medications, summary.unparsed)
    assert (_migrate(summary).diagnoses, summary.medications, summary.unparsed) == before


UNIT_WORDS = {"tablet": "tablets", "capsule": "capsules", "mg": "mg", "ml": "ml", "drop": "drops"}
ROUTE_WORDS = {"oral": "by mouth", "intravenous": "iv", "subcutaneous": "subcutaneous", "": ""}
TIMES = {1: "once a day", 2: "twice a day", 3: "three times a day", 4: "four times a day"}


@given(
    dose=st.integers(min_value=1, max_value=999),
    unit=st.sampled_from(sorted(UNIT_WORDS)),
    route=st.sampled_from(sorted(ROUTE_WORDS)),
    times=st.sampled_from(sorted(TIMES)),
    days=st.one_of(st.none(), st.integers(min_value=1, max_value=90)),
)
def test_a_dosage_in_words_reads_back_as_its_parts(dose, unit, route, times, days):
    words = " ".join(
        w for w in (f"{dose} {UNIT_WORDS[unit]}", ROUTE_WORDS[route], TIMES[times], days and f"for {days} days") if w
    )
    parsed = discharge.parse_dosage(words)
    assert parsed == {
        "dose": dose,
        "unit": unit,
        "route": route,
        "frequency": times,
        "period_unit": "d",
        "duration_days": days,
    }

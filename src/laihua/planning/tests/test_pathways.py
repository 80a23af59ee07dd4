"""Clinical pathways as data: kept by the hospital's admin, coordinators and clinicians, read by its finance
staff, never seen by another hospital; every change checked (the error names the field) and audited; API,
page, CSV export and import (all or nothing, the error naming row and column) and the command line."""

import io

import pytest
from django.core.management import call_command
from django.urls import reverse

from laihua.accounts.services import create_api_token
from laihua.audit.models import AuditEvent
from laihua.errors import InvalidInput, NotFound, PermissionDenied
from laihua.planning import pathways
from laihua.planning.models import Pathway
from tests.builders import make_item

pytestmark = pytest.mark.django_db


@pytest.fixture
def mri_items(hospital):
    return {
        "package": make_item(hospital, code="PKG-MRI", kind="package", en="MRI with consultation", zh="磁共振加会诊"),
        "mri": make_item(hospital, code="RAD-MRI-1", kind="imaging", en="MRI", zh="磁共振"),
        "review": make_item(hospital, code="CON-ORTH", kind="consultation", en="Consultation", zh="会诊"),
    }


def mri_pathway(**changes) -> dict:
    data = {
        "item": "PKG-MRI",
        "procedure_kind": "diagnostic",
        "nights": 0,
        "note": {"en": "Report the next working day.", "zh-hans": "次一工作日出报告。"},
        "steps": [
            {"kind": "test", "service": "RAD-MRI-1", "label": {"en": "MRI", "zh-hans": "磁共振"}, "turnaround_days": 1},
            {"kind": "results_review", "service": "CON-ORTH", "label": {"en": "Results review", "zh-hans": "结果解读"}},
        ],
    }
    data.update(changes)
    return data


def auth(user):
    return {"HTTP_AUTHORIZATION": f"Bearer {create_api_token(user, user, 'test')[1]}"}


def test_staff_keep_a_pathway_and_each_change_is_audited(users, hospital, mri_items):
    pathway, created = pathways.save_pathway(users["clinician"], hospital, mri_pathway())
    assert created and [s.service.code for s in pathway.steps.all()] == ["RAD-MRI-1", "CON-ORTH"]
    assert pathway.fly_after_days == 0
    _again, created = pathways.save_pathway(users["coordinator"], hospital, mri_pathway(fit_to_fly_days=1))
    assert not created and Pathway.objects.get().fly_after_days == 1
    actions = list(
        AuditEvent.objects.filter(action__startswith="planning.pathway").order_by("pk").values_list("action", flat=True)
    )
    assert actions == ["planning.pathway.create", "planning.pathway.update"]
    assert AuditEvent.objects.get(action="planning.pathway.update").detail["changed"]["fit_to_fly_days"] == [None, 1]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"procedure_kind": "teleport"}, "procedure_kind"),
        ({"nights": 3}, "nights"),  # nights with no procedure step
        ({"fit_to_fly_days": 400}, "fit_to_fly_days"),
        ({"steps": []}, "steps"),
    ],
)
def test_a_wrong_value_is_refused_naming_its_field(users, hospital, mri_items, change, field):
    with pytest.raises(InvalidInput) as refused:
        pathways.save_pathway(users["coordinator"], hospital, mri_pathway(**change))
    assert refused.value.field == field
    assert not Pathway.objects.exists()


def test_a_wrong_step_names_the_step_and_its_field(users, hospital, mri_items, other_hospital):
    make_item(other_hospital, code="RAD-CT", kind="imaging")
    data = mri_pathway()
    data["steps"][1]["service"] = "RAD-CT"  # another hospital's
    with pytest.raises(InvalidInput) as refused:
        pathways.save_pathway(users["coordinator"], hospital, data)
    assert refused.value.field == "steps[1].service" and str(refused.value.message).startswith("Step 2, service")
    data = mri_pathway()
    data["steps"][0]["label"] = {"en": "MRI"}  # no Chinese
    with pytest.raises(InvalidInput) as refused:
        pathways.save_pathway(users["coordinator"], hospital, data)
    assert refused.value.field == "steps[0].label"
    data = mri_pathway()
    data["steps"][1]["kind"] = "postop_check"  # no procedure before it
    with pytest.raises(InvalidInput) as refused:
        pathways.save_pathway(users["coordinator"], hospital, data)
    assert refused.value.field == "steps[1].kind"


def test_who_reads_and_who_changes(users, hospital, mri_items):
    pathways.save_pathway(users["hospital_admin"], hospital, mri_pathway())
    assert len(pathways.pathways_of(users["finance"], hospital)) == 1
    with pytest.raises(PermissionDenied):
        pathways.save_pathway(users["finance"], hospital, mri_pathway())
    with pytest.raises(PermissionDenied):
        pathways.pathways_of(users["patient"], hospital)
    with pytest.raises(PermissionDenied):
        pathways.pathways_of(users["other_coordinator"], hospital)
    with pytest.raises(NotFound):
        pathways.get_pathway(users["other_coordinator"], "PKG-MRI")


def test_api_crud(client, users, hospital, mri_items):
    body = mri_pathway()
    body.pop("item")
    url = "/api/planning/pathways/PKG-MRI"
    created = client.put(url, body, content_type="application/json", **auth(users["coordinator"]))
    assert created.status_code == 201 and created.json()["steps"][0]["turnaround_days"] == 1
    body["steps"][0]["min_gap_days"] = "x"
    refused = client.put(url, body, content_type="application/json", **auth(users["coordinator"]))
    assert refused.status_code == 422
    listed = client.get("/api/planning/pathways", **auth(users["finance"])).json()
    assert [p["item"] for p in listed] == ["PKG-MRI"]
    assert client.get(url, **auth(users["other_coordinator"])).status_code == 404
    assert client.delete(url, **auth(users["finance"])).status_code == 403
    assert client.delete(url, **auth(users["clinician"])).status_code == 204
    assert not Pathway.objects.exists()
    assert AuditEvent.objects.filter(action="planning.pathway.delete").count() == 1


def test_csv_round_trip_and_a_wrong_row(users, hospital, mri_items, tmp_path):
    pathways.save_pathway(users["coordinator"], hospital, mri_pathway())
    text = pathways.export_csv(users["coordinator"], hospital)
    Pathway.objects.all().delete()
    path = tmp_path / "pathways.csv"
    path.write_text(text, encoding="utf-8")
    assert pathways.import_csv(users["coordinator"], hospital, path) == 1
    assert pathways.pathway_json(Pathway.objects.get())["steps"][1]["label"]["zh-hans"] == "结果解读"
    path.write_text(text.replace("CON-ORTH", "NOPE"), encoding="utf-8")
    with pytest.raises(InvalidInput) as refused:
        pathways.import_csv(users["coordinator"], hospital, path)
    assert "row 3, column service" in str(refused.value.message) and refused.value.field == "service"


def test_command_exports_and_imports(users, hospital, mri_items, tmp_path):
    pathways.save_pathway(users["coordinator"], hospital, mri_pathway())
    out = tmp_path / "out.csv"
    call_command("pathways", "export", "--user", "east-coord", "--out", str(out))
    Pathway.objects.all().delete()
    printed = io.StringIO()
    call_command("pathways", "import", str(out), "--user", "east-coord", stdout=printed)
    assert "1 pathway(s) imported." in printed.getvalue() and Pathway.objects.count() == 1


def test_pages(client, users, hospital, mri_items):
    pathways.save_pathway(users["coordinator"], hospital, mri_pathway())
    client.force_login(users["coordinator"])
    page = client.get(reverse("planning:pathways"))
    assert page.status_code == 200 and "PKG-MRI" in page.content.decode()
    form = client.get(reverse("planning:pathway", args=["PKG-MRI"]))
    assert form.status_code == 200 and 'value="RAD-MRI-1"' in form.content.decode()
    posted = {
        "procedure_kind": "diagnostic",
        "nights": "0",
        "step-0-kind": "test",
        "step-0-service": "RAD-MRI-1",
        "step-0-label_en": "MRI",
        "step-0-label_zh": "磁共振",
        "step-0-min_gap_days": "0",
        "step-0-turnaround_days": "1",
        "step-1-kind": "results_review",
        "step-1-service": "CON-ORTH",
        "step-1-label_en": "Results review",
        "step-1-label_zh": "",  # missing
    }
    refused = client.post(reverse("planning:pathway_save", args=["PKG-MRI"]), posted)
    assert refused.status_code == 422 and "Step 2" in refused.content.decode()
    posted["step-1-label_zh"] = "结果解读"
    saved = client.post(reverse("planning:pathway_save", args=["PKG-MRI"]), posted)
    assert saved.status_code == 302
    client.force_login(users["patient"])
    assert client.get(reverse("planning:pathways")).status_code == 403

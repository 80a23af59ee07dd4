"""/admin: clinical items, documents, discharge summaries and consents are read-only (no add, change or delete,
whatever is posted); the platform's term list is edited there, never a hospital's overrides."""

import datetime

import pytest

from laihua.kit import clock
from laihua.records import services
from laihua.records.models import ClinicalItem, Consent, EpisodeSummary, IpsDocument, TermTranslation
from laihua.records.tests.conftest import example_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture
def stored(users, case):
    services.import_document(users["clinician"], case, example_bytes("hl7-bundle-minimal.json"))
    services.save_episode_summary(users["clinician"], case, {"plan_of_care": "Rest"})
    today = clock.today()
    services.grant_consent(
        users["patient"],
        case,
        recipient_name="Dr Smith",
        recipient_email="smith@clinic.example",
        purpose="Follow-up",
        data_types=["summary"],
        period_start=today,
        period_end=today + datetime.timedelta(days=10),
    )
    return case


@pytest.mark.parametrize(
    "model,path",
    [
        (ClinicalItem, "clinicalitem"),
        (IpsDocument, "ipsdocument"),
        (Consent, "consent"),
        (EpisodeSummary, "episodesummary"),
    ],
)
def test_clinical_records_and_consents_are_read_only_in_admin(client, users, stored, model, path):
    client.force_login(users["platform_admin"])
    row = model.objects.first()
    before = model.objects.count()
    assert client.get(f"/en/admin/records/{path}/").status_code == 200
    assert client.get(f"/en/admin/records/{path}/add/").status_code == 403
    assert (
        client.post(
            f"/en/admin/records/{path}/add/", {"recipient_name": "X", "granted_by": users["platform_admin"].pk}
        ).status_code
        == 403
    )
    page = client.get(f"/en/admin/records/{path}/{row.pk}/change/")
    assert page.status_code == 200 and 'name="_save"' not in page.content.decode()
    assert client.post(f"/en/admin/records/{path}/{row.pk}/change/", {}).status_code == 403
    assert client.post(f"/en/admin/records/{path}/{row.pk}/delete/", {"post": "yes"}).status_code == 403
    response = client.post(
        f"/en/admin/records/{path}/", {"action": "delete_selected", "_selected_action": [row.pk], "post": "yes"}
    )
    assert response.status_code in (200, 302, 403)
    assert model.objects.count() == before


def test_the_platform_term_list_is_edited_in_admin_not_hospital_overrides(client, users):
    override = services.save_term(users["coordinator"], system="http://loinc.org", code="1", zh_hans="一")
    client.force_login(users["platform_admin"])
    assert client.get(f"/en/admin/records/termtranslation/{override.pk}/change/").status_code == 302  # not listed
    response = client.post(
        "/en/admin/records/termtranslation/add/",
        {"system": "http://loinc.org", "code": "1", "en": "One", "zh_hans": "壹"},
    )
    assert response.status_code == 302
    added = TermTranslation.objects.get(hospital__isnull=True)
    assert added.zh_hans == "壹" and added.updated_by == users["platform_admin"]

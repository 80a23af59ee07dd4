"""The term list: the platform's list is changed by platform administrators only; each hospital keeps its own
overrides on top of it, changed by its coordinators and admins and invisible to every other hospital; a case's
items show its hospital's override, else the platform's. Service, pages and API."""

import pytest
from django.urls import reverse
from django.utils import translation

from laihua.accounts.services import create_api_token
from laihua.audit.models import AuditEvent
from laihua.errors import NotFound, PermissionDenied
from laihua.records import services
from laihua.records.models import TermTranslation
from laihua.records.tests.conftest import example_bytes

pytestmark = pytest.mark.django_db

SCT = "http://snomed.info/sct"
FLUSH = "198436008"  # the minimal example's problem


def url(name, *args):
    with translation.override("en"):
        return reverse(f"records:{name}", args=args)


def bearer(user):
    return {"Authorization": f"Bearer {create_api_token(user, user, 'test')[1]}"}


def platform_term(users, code=FLUSH, zh="潮热"):
    return services.save_term(users["platform_admin"], system=SCT, code=code, en="Hot flushes", zh_hans=zh)


def test_platform_admins_change_the_platform_list_and_staff_only_their_hospitals(users, hospital):
    term = platform_term(users)
    assert term.hospital_id is None
    for role in ("coordinator", "hospital_admin", "clinician", "other_coordinator"):
        with pytest.raises(PermissionDenied) as caught:
            services.save_term(users[role], system=SCT, code=FLUSH, zh_hans="改", scope="platform")
        if role != "clinician":
            assert caught.value.field == "scope"
        with pytest.raises(PermissionDenied):
            services.delete_term(users[role], term.pk)
    term.refresh_from_db()
    assert term.zh_hans == "潮热"
    override = services.save_term(users["coordinator"], system=SCT, code=FLUSH, zh_hans="潮红")
    assert override.hospital_id == hospital.pk and TermTranslation.objects.count() == 2
    with pytest.raises(PermissionDenied):
        services.save_term(users["clinician"], system=SCT, code=FLUSH, zh_hans="x")
    for role in ("finance", "insurer_agent", "patient"):
        with pytest.raises(PermissionDenied):
            services.terms(users[role])
    events = AuditEvent.objects.filter(action="records.term_save")
    assert [e.detail["scope"] for e in events.order_by("pk")] == ["platform", "hospital"]


def test_another_hospitals_override_is_invisible_and_not_found(users):
    platform_term(users)
    mine = services.save_term(users["coordinator"], system=SCT, code=FLUSH, zh_hans="潮红")
    theirs = services.terms(users["other_coordinator"])
    assert mine.pk not in {t.pk for t in theirs} and len(theirs) == 1
    assert mine.pk not in {t.pk for t in services.terms(users["platform_admin"])}
    with pytest.raises(NotFound):
        services.delete_term(users["other_admin"], mine.pk)
    with pytest.raises(NotFound):
        services.delete_term(users["platform_admin"], mine.pk)
    assert TermTranslation.objects.filter(pk=mine.pk).exists()
    services.delete_term(users["hospital_admin"], mine.pk)
    assert not TermTranslation.objects.filter(pk=mine.pk).exists()


def test_nobody_but_a_platform_admin_deletes_a_platform_term(users):
    term = platform_term(users)
    for role in ("coordinator", "hospital_admin", "clinician", "other_admin", "other_coordinator"):
        with pytest.raises(PermissionDenied):
            services.delete_term(users[role], term.pk)
    assert TermTranslation.objects.filter(pk=term.pk).exists()
    services.delete_term(users["platform_admin"], term.pk)
    assert not TermTranslation.objects.exists()
    assert AuditEvent.objects.filter(action="records.term_delete", detail__scope="platform").count() == 1


def test_a_case_shows_its_hospitals_override_else_the_platforms(users, case, other_hospital):
    from tests.builders import make_case

    services.import_document(users["clinician"], case, example_bytes("hl7-bundle-minimal.json"))
    other = make_case(case.patient, other_hospital)
    services.import_document(users["other_coordinator"], other, example_bytes("hl7-bundle-minimal.json"))

    def shown(actor, of_case):
        items = services.case_records(actor, of_case)["items"]
        return next(i for i in items if i.kind == "problem").display_zh

    platform_term(users)
    assert shown(users["clinician"], case) == shown(users["other_coordinator"], other) == "潮热"
    services.save_term(users["coordinator"], system=SCT, code=FLUSH, zh_hans="潮红")
    assert shown(users["clinician"], case) == "潮红"
    assert shown(users["other_coordinator"], other) == "潮热"  # the other hospital keeps the platform's


def test_term_page_offers_each_role_only_what_it_may_change(client, users):
    term = platform_term(users)
    override = services.save_term(users["other_coordinator"], system=SCT, code=FLUSH, zh_hans="潮红")
    client.force_login(users["coordinator"])
    html = client.get(url("terms")).content.decode()
    assert "潮热" in html and "潮红" not in html and f'value="{term.pk}"' not in html  # no Remove on platform rows
    assert 'name="scope" value="hospital"' in html
    refused = client.post(url("terms"), {"delete": term.pk})
    assert refused.status_code == 403 and TermTranslation.objects.filter(pk=term.pk).exists()
    refused = client.post(url("terms"), {"system": SCT, "code": FLUSH, "zh_hans": "改", "scope": "platform"})
    assert refused.status_code == 403
    assert client.post(url("terms"), {"delete": override.pk}).status_code == 404
    saved = client.post(url("terms"), {"system": SCT, "code": FLUSH, "zh_hans": "热潮", "scope": "hospital"})
    assert saved.status_code == 302
    assert TermTranslation.objects.get(hospital=users["coordinator"].hospital).zh_hans == "热潮"
    client.force_login(users["clinician"])
    html = client.get(url("terms")).content.decode()
    assert 'id="term-form"' not in html and "Remove" not in html
    client.force_login(users["platform_admin"])
    html = client.get(url("terms")).content.decode()
    assert 'name="scope" value="platform"' in html and f'value="{term.pk}"' in html


def test_term_api_refusals(client, users):
    term = platform_term(users)
    coordinator = bearer(users["coordinator"])
    response = client.post(
        "/api/records/terms",
        {"system": SCT, "code": FLUSH, "zh_hans": "改", "scope": "platform"},
        content_type="application/json",
        headers=coordinator,
    )
    assert response.status_code == 403
    assert client.delete(f"/api/records/terms/{term.pk}", headers=coordinator).status_code == 403
    response = client.post(
        "/api/records/terms",
        {"system": SCT, "code": FLUSH, "zh_hans": "潮红"},
        content_type="application/json",
        headers=coordinator,
    )
    assert response.status_code == 200 and response.json()["scope"] == "hospital"
    override = response.json()["id"]
    other = bearer(users["other_coordinator"])
    assert [t["scope"] for t in client.get("/api/records/terms", headers=other).json()] == ["platform"]
    assert client.delete(f"/api/records/terms/{override}", headers=other).status_code == 404
    assert client.delete(f"/api/records/terms/{override}", headers=coordinator).status_code == 204
    assert client.delete(f"/api/records/terms/{term.pk}", headers=bearer(users["platform_admin"])).status_code == 204
    assert not TermTranslation.objects.exists()

"""Refusals: a patient never sees another patient's case; staff never see or touch another hospital's;
a clinician cannot assign; the roles without cases see none. Pages, API and services alike."""

import pytest
from django.urls import reverse

from laihua.cases import services
from laihua.cases.models import Case, Message
from laihua.cases.states import State
from laihua.cases.tests.files import a_pdf
from laihua.cases.uploads import store_attachment
from laihua.errors import InvalidInput, NotFound, PermissionDenied
from tests.builders import make_case


@pytest.fixture
def attachment(case, users):
    return store_attachment(case, users["patient"], a_pdf("mine.pdf"))


def _routes(case, attachment):
    return {
        "page": reverse("cases:detail", args=[case.reference]),
        "file": reverse("cases:attachment", args=[case.reference, attachment.pk]),
        "api": f"/api/cases/{case.reference}",
        "api_messages": f"/api/cases/{case.reference}/messages",
        "api_file": f"/api/cases/{case.reference}/attachments/{attachment.pk}",
    }


def test_another_patient_gets_not_found_everywhere(client, case, other_patient, attachment):
    client.force_login(other_patient.user)
    for name, url in _routes(case, attachment).items():
        response = client.get(url)
        assert response.status_code == 404, name
        assert "DOE" not in response.content.decode(), name
    assert client.post(reverse("cases:message", args=[case.reference]), {"body": "hi"}).status_code == 404
    assert client.post(reverse("cases:transition", args=[case.reference]), {"state": "cancelled"}).status_code == 404
    response = client.post(f"/api/cases/{case.reference}/messages", {"body": "hi"})
    assert response.status_code == 404 and response.json()["error"] == "not_found"
    assert not Message.objects.exists()
    case.refresh_from_db()
    assert case.state == State.INQUIRY


def test_another_hospitals_staff_get_not_found_everywhere(client, case, users, attachment):
    client.force_login(users["other_coordinator"])
    for name, url in _routes(case, attachment).items():
        assert client.get(url).status_code == 404, name
    assert client.post(reverse("cases:assign", args=[case.reference]), {"coordinator": "west-coord"}).status_code == 404
    response = client.post(
        f"/api/cases/{case.reference}/transitions", {"state": "triage"}, content_type="application/json"
    )
    assert response.status_code == 404
    case.refresh_from_db()
    assert case.state == State.INQUIRY and case.coordinator is None


def test_another_hospitals_staff_are_refused_by_the_services(case, users):
    west = users["other_coordinator"]
    with pytest.raises(NotFound):
        services.get_case(west, case.reference)
    with pytest.raises(PermissionDenied):
        services.post_message(west, case, "hello")
    with pytest.raises(PermissionDenied):
        services.assign(west, case, west)
    with pytest.raises(PermissionDenied):
        services.move(west, case, State.TRIAGE)
    assert not case.messages.exists()


def test_the_board_and_the_list_show_only_the_hospitals_or_patients_own_cases(
    client, case, users, other_patient, other_hospital
):
    theirs = make_case(other_patient, other_hospital, description="Elsewhere")
    client.force_login(users["other_coordinator"])
    page = client.get(reverse("cases:list")).content.decode()
    assert theirs.reference in page and case.reference not in page
    assert [c["reference"] for c in client.get("/api/cases").json()["results"]] == [theirs.reference]
    client.force_login(other_patient.user)
    page = client.get(reverse("cases:list")).content.decode()
    assert theirs.reference in page and case.reference not in page
    assert [c["reference"] for c in client.get("/api/cases").json()["results"]] == [theirs.reference]


def test_a_clinician_cannot_assign(client, case, users):
    with pytest.raises(PermissionDenied):
        services.assign(users["clinician"], case, users["coordinator"])
    client.force_login(users["clinician"])
    page = client.get(reverse("cases:detail", args=[case.reference])).content.decode()
    assert reverse("cases:assign", args=[case.reference]) not in page
    assert client.post(reverse("cases:assign", args=[case.reference]), {"coordinator": "east-coord"}).status_code == 403
    response = client.post(
        f"/api/cases/{case.reference}/assign", {"coordinator": "east-coord"}, content_type="application/json"
    )
    assert response.status_code == 403 and response.json()["error"] == "forbidden"
    case.refresh_from_db()
    assert case.coordinator is None


def test_only_a_coordinator_of_the_same_hospital_can_be_assigned(case, users):
    for candidate in ("other_coordinator", "clinician", "patient"):
        with pytest.raises(InvalidInput) as caught:
            services.assign(users["coordinator"], case, users[candidate])
        assert caught.value.field == "coordinator"
    with pytest.raises(InvalidInput):
        services.assign(users["coordinator"], case, "west-coord")
    case.refresh_from_db()
    assert case.coordinator is None


def test_a_hospital_admin_assigns_and_the_coordinator_hears_of_it(
    case, users, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        services.assign(users["hospital_admin"], case, "east-coord")
    case.refresh_from_db()
    assert case.coordinator == users["coordinator"]
    assert case.events.get(kind="assigned").detail["coordinator"] == "east-coord"
    assert [m.to for m in mailoutbox] == [[users["coordinator"].email]]
    services.assign(users["hospital_admin"], case, None)
    case.refresh_from_db()
    assert case.coordinator is None


@pytest.mark.parametrize("role", ["platform_admin", "insurer_agent"])
def test_roles_without_cases_see_none(client, case, users, role):
    client.force_login(users[role])
    assert client.get(reverse("cases:list")).status_code == 403
    assert client.get(reverse("cases:detail", args=[case.reference])).status_code == 404
    assert client.get("/api/cases").status_code == 403
    assert client.get(f"/api/cases/{case.reference}").status_code == 404


def test_a_visitor_is_asked_to_sign_in(client, case, attachment):
    for name, url in _routes(case, attachment).items():
        response = client.get(url)
        if url.startswith("/api/"):
            assert response.status_code == 401 and response.json()["error"] == "unauthenticated", name
        else:
            assert response.status_code == 302 and "/accounts/login/" in response["Location"], name


def test_viewing_a_case_is_audited(client, case, users):
    from laihua.audit.models import AuditEvent

    client.force_login(users["coordinator"])
    client.get(reverse("cases:detail", args=[case.reference]))
    event = AuditEvent.objects.get(action="case.view")
    assert event.actor == users["coordinator"] and event.object_id == str(case.pk)
    assert event.hospital == case.hospital


def test_the_staff_page_shows_the_passport_masked(client, case, users):
    client.force_login(users["coordinator"])
    page = client.get(reverse("cases:detail", args=[case.reference])).content.decode()
    assert "•••••567" in page and "X1234567" not in page
    assert Case.objects.count() == 1

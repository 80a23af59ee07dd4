import pytest

from laihua.audit.models import AuditEvent
from laihua.audit.services import browse, record_event
from laihua.errors import PermissionDenied

pytestmark = pytest.mark.django_db


@pytest.fixture
def events(users, hospital, other_hospital):
    record_event(users["coordinator"], "catalog.item.update", hospital, detail={"changed": ["name"]})
    record_event(users["other_coordinator"], "catalog.item.update", other_hospital)
    record_event(users["hospital_admin"], "accounts.preferences.update", users["hospital_admin"])


def test_hospital_admin_sees_their_own_hospitals_events_only(client, users, events):
    client.force_login(users["hospital_admin"])
    response = client.get("/en/manage/audit/")
    assert response.status_code == 200
    seen = list(response.context["page"].object_list)
    assert seen and {event.hospital.slug for event in seen} == {"east"}
    page = response.content.decode()
    assert "east-coord" in page and "west-coord" not in page


def test_platform_admin_sees_every_hospital(client, users, events):
    client.force_login(users["platform_admin"])
    seen = client.get("/en/manage/audit/").context["page"].object_list
    assert {"east-coord", "west-coord"} <= {event.actor_label for event in seen}


def test_filter_by_action_prefix_and_user(client, users, events):
    client.force_login(users["hospital_admin"])
    by_action = client.get("/en/manage/audit/", {"action": "catalog."}).context["page"].object_list
    assert [event.action for event in by_action] == ["catalog.item.update"]
    by_user = client.get("/en/manage/audit/", {"user": "EAST-ADMIN"}).context["page"].object_list
    assert {event.actor_label for event in by_user} == {"east-admin"}


def test_events_are_paged_newest_first(client, users, hospital):
    for number in range(120):
        record_event(users["coordinator"], "catalog.item.update", hospital, detail={"n": number})
    client.force_login(users["hospital_admin"])
    first = client.get("/en/manage/audit/", {"action": "catalog."})
    page = first.context["page"]
    assert page.paginator.count == 120 and page.paginator.num_pages == 3
    assert [event.detail["n"] for event in page.object_list][:2] == [119, 118]
    assert "action=catalog.&amp;page=2" in first.content.decode()
    last = client.get("/en/manage/audit/", {"action": "catalog.", "page": "3"}).context["page"]
    assert [event.detail["n"] for event in last.object_list] == list(range(19, -1, -1))
    beyond = client.get("/en/manage/audit/", {"action": "catalog.", "page": "99"}).context["page"]
    assert beyond.number == 3


def test_browsing_is_itself_audited(client, users, events):
    client.force_login(users["hospital_admin"])
    client.get("/en/manage/audit/", {"action": "catalog."})
    event = AuditEvent.objects.get(action="audit.browse")
    assert event.actor == users["hospital_admin"] and event.detail["action"] == "catalog."


@pytest.mark.parametrize("role", ["coordinator", "clinician", "finance", "patient", "insurer_agent"])
def test_other_roles_are_refused_the_audit_trail(client, users, events, role):
    client.force_login(users[role])
    response = client.get("/en/manage/audit/")
    assert response.status_code == 403
    assert "catalog.item.update" not in response.content.decode()
    with pytest.raises(PermissionDenied):
        browse(users[role])


def test_audit_page_renders_in_chinese(client, users, events):
    client.force_login(users["hospital_admin"])
    response = client.get("/zh-hans/manage/audit/")
    assert response.status_code == 200 and 'lang="zh-hans"' in response.content.decode()


def test_details_show_every_key_even_one_named_items(client, users, hospital):
    record_event(users["coordinator"], "records.import", hospital, detail={"items": 12, "keys": "a", "values": "b"})
    client.force_login(users["hospital_admin"])
    page = client.get("/en/manage/audit/").content.decode()
    assert "<dt>items</dt><dd>12</dd>" in page and "<dt>keys</dt><dd>a</dd>" in page

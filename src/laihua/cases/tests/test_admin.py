"""Cases in /admin: the platform admin may look (audited) but not add, change or delete."""

from laihua.audit.models import AuditEvent
from laihua.cases.services import post_message


def test_the_platform_admin_reads_a_case_in_admin_and_it_is_audited(client, case, users):
    post_message(users["coordinator"], case, "A note", internal=True)
    client.force_login(users["platform_admin"])
    assert case.reference in client.get("/en/admin/cases/case/").content.decode()
    response = client.get(f"/en/admin/cases/case/{case.pk}/change/")
    assert response.status_code == 200 and "A note" in response.content.decode()
    assert AuditEvent.objects.filter(action="admin.cases.case.view", actor=users["platform_admin"]).exists()


def test_cases_cannot_be_added_or_deleted_in_admin(client, case, users):
    client.force_login(users["platform_admin"])
    assert client.get("/en/admin/cases/case/add/").status_code == 403
    assert client.post(f"/en/admin/cases/case/{case.pk}/delete/", {"post": "yes"}).status_code == 403
    case.refresh_from_db()

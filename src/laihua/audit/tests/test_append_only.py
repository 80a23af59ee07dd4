import pytest
from django.db import DatabaseError, connection, transaction

from laihua.audit.models import AppendOnlyError, AuditEvent
from laihua.audit.services import record_event

pytestmark = pytest.mark.django_db


@pytest.fixture
def event(users, hospital):
    return record_event(users["coordinator"], "catalog.item.update", hospital)


def test_an_event_cannot_be_changed_or_deleted_through_the_model(event):
    event.action = "nothing.happened"
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(pk=event.pk).update(action="nothing.happened")
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(pk=event.pk).delete()
    event.refresh_from_db()
    assert event.action == "catalog.item.update"


def test_admin_offers_no_way_to_add_change_or_delete_an_event(client, users, event):
    client.force_login(users["platform_admin"])
    assert client.get(f"/en/admin/audit/auditevent/{event.pk}/change/").status_code == 200  # view only
    changed = client.post(f"/en/admin/audit/auditevent/{event.pk}/change/", {"action": "nothing.happened"})
    assert changed.status_code == 403
    assert client.get("/en/admin/audit/auditevent/add/").status_code == 403
    assert client.post(f"/en/admin/audit/auditevent/{event.pk}/delete/", {"post": "yes"}).status_code == 403
    event.refresh_from_db()
    assert event.action == "catalog.item.update"


@pytest.mark.postgres_only
def test_the_database_refuses_a_raw_update_or_delete(event):
    for statement in (
        "UPDATE audit_auditevent SET action = 'nothing.happened' WHERE id = %s",
        "DELETE FROM audit_auditevent WHERE id = %s",
    ):
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(statement, [event.pk])
    event.refresh_from_db()
    assert event.action == "catalog.item.update"


@pytest.mark.postgres_only
@pytest.mark.django_db(
    transaction=True
)  # committed rows: a TRUNCATE in a transaction with pending work is refused anyway
@pytest.mark.parametrize("statement", ["TRUNCATE audit_auditevent", "TRUNCATE audit_auditevent CASCADE"])
def test_the_database_refuses_to_truncate_the_trail(event, statement):
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement)
    assert AuditEvent.objects.filter(pk=event.pk).exists()

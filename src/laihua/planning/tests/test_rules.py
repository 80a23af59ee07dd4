"""Planning defaults kept by hospital staff (planning.rules): the services' rules and the clinical orders,
through the services, the page and the API, and a plan that then uses them."""

import datetime

import pytest
from django.urls import reverse

from laihua.accounts.services import create_api_token
from laihua.audit.models import AuditEvent
from laihua.capacity.models import ServiceUsage
from laihua.errors import InvalidInput, NotFound, PermissionDenied
from laihua.planning import rules, services
from laihua.planning.models import ItemKind, Repeat, ServiceOrder, ServiceRule
from tests.builders import make_case, make_item

from .conftest import accept_quote, inputs, make_resource

pytestmark = pytest.mark.django_db

API = "/api/planning"


@pytest.fixture
def trio(hospital):
    """Three services of the hospital with no rule and no order yet."""
    return {
        "consult": make_item(
            hospital, code="CON-ONC", kind="consultation", en="Oncology consultation", zh="肿瘤科会诊"
        ),
        "scan": make_item(hospital, code="RAD-PET", kind="imaging", en="PET-CT", zh="正电子发射计算机断层显像"),
        "check": make_item(hospital, code="CON-CHECK", kind="consultation", en="Results consultation", zh="复诊"),
    }


@pytest.fixture
def foreign_item(other_hospital):
    return make_item(other_hospital, code="RAD-PET", kind="imaging", en="West PET-CT", zh="西部PET-CT")


def auth(user):
    return {"HTTP_AUTHORIZATION": f"Bearer {create_api_token(user, user, 'test')[1]}"}


def events(action):
    return list(AuditEvent.objects.filter(action=action).order_by("pk"))


def refused(exc_type, call, *args, **kwargs):
    with pytest.raises(exc_type) as info:
        call(*args, **kwargs)
    return info.value


# --- services: rules ------------------------------------------------------------------------------


def test_a_coordinator_sets_a_rule_then_changes_it_and_each_change_is_audited(users, hospital, trio):
    scan = trio["scan"]
    rule = rules.set_rule(users["coordinator"], scan, {"morning_only": True, "duration_minutes": "45"})
    assert ServiceRule.objects.get(item=scan) == rule
    assert (rule.morning_only, rule.duration_minutes, rule.stay_days, rule.repeat) == (True, 45, None, "")
    [created] = events("planning.rule.create")
    assert created.hospital == hospital and created.actor == users["coordinator"]
    assert created.detail["item"] == "RAD-PET" and created.detail["changed"]["duration_minutes"] == [None, 45]
    # absent keys keep their value; the admin may change it too
    rule = rules.set_rule(users["hospital_admin"], scan, {"stay_days": 2, "repeat": Repeat.CONSECUTIVE})
    assert (rule.morning_only, rule.duration_minutes, rule.stay_days, rule.repeat) == (True, 45, 2, "consecutive_days")
    [updated] = events("planning.rule.update")
    assert updated.hospital == hospital and updated.detail["changed"] == {
        "stay_days": [None, 2],
        "repeat": ["", "consecutive_days"],
    }
    # the same values again change nothing and record nothing
    rules.set_rule(users["coordinator"], scan, {"stay_days": 2})
    assert len(events("planning.rule.update")) == 1
    assert rules.effective(scan) == {
        "morning_only": True,
        "duration_minutes": 45,
        "stay_days": 2,
        "repeat": "consecutive_days",
    }


def test_without_a_rule_the_planner_takes_the_catalog_and_the_kind(trio, hospital):
    lab = make_item(hospital, code="LAB-CBC", kind="laboratory", en="Blood count", zh="血常规", duration_minutes=10)
    assert rules.effective(lab) == {
        "morning_only": False,
        "duration_minutes": 10,
        "stay_days": 1,
        "repeat": "one_visit",
    }
    assert rules.effective(trio["consult"])["repeat"] == "separate_days"
    assert rules.effective(trio["consult"])["duration_minutes"] == 30


@pytest.mark.parametrize(
    "data, field, words",
    [
        ({"duration_minutes": 0}, "duration_minutes", "Duration (minutes): give a whole number from 1 to 540."),
        ({"duration_minutes": 541}, "duration_minutes", "from 1 to 540"),
        ({"duration_minutes": "half an hour"}, "duration_minutes", "Duration (minutes)"),
        ({"stay_days": 0}, "stay_days", "Days at the hospital: give a whole number from 1 to 90."),
        ({"stay_days": 91}, "stay_days", "from 1 to 90"),
        ({"repeat": "weekly"}, "repeat", "More than one: choose one of the ways offered"),
    ],
)
def test_a_bad_rule_names_its_field_and_nothing_is_saved(users, trio, data, field, words):
    error = refused(InvalidInput, rules.set_rule, users["coordinator"], trio["scan"], {"morning_only": True, **data})
    assert error.field == field and words in str(error.message)
    assert not ServiceRule.objects.exists() and not AuditEvent.objects.filter(action__startswith="planning.").exists()


def test_the_error_names_the_field_in_the_users_language(users, trio):
    from django.utils import translation

    with translation.override("zh-hans"):
        error = refused(InvalidInput, rules.set_rule, users["coordinator"], trio["scan"], {"stay_days": 0})
        message = str(error.message)
    assert message.startswith("在院天数: ") and error.field == "stay_days"


def test_who_may_read_and_change_rules(users, hospital, trio):
    scan = trio["scan"]
    # clinicians read, but may not change
    assert [i.code for i in rules.services_of(users["clinician"], hospital)] == ["CON-CHECK", "CON-ONC", "RAD-PET"]
    assert rules.get_service(users["clinician"], code="RAD-PET") == scan
    refused(PermissionDenied, rules.set_rule, users["clinician"], scan, {"morning_only": True})
    # finance, patients, insurers and the platform admin neither read nor change (the platform admin has /admin)
    for who in ("finance", "patient", "insurer_agent", "platform_admin"):
        refused(PermissionDenied, rules.services_of, users[who], users[who].hospital)
        refused(PermissionDenied, rules.set_rule, users[who], scan, {"morning_only": True})
    # another hospital's staff: refused on this hospital, and never find its services by code or id
    for who in ("other_coordinator", "other_admin"):
        refused(PermissionDenied, rules.set_rule, users[who], scan, {"morning_only": True})
        refused(PermissionDenied, rules.services_of, users[who], hospital)
        refused(PermissionDenied, rules.rules_of, users[who], hospital)
        refused(NotFound, rules.get_service, users[who], code="RAD-PET")
        refused(NotFound, rules.get_service, users[who], pk=scan.pk)
    assert not ServiceRule.objects.exists() and not AuditEvent.objects.filter(action__startswith="planning.").exists()


def test_the_service_search_narrows_the_list(users, hospital, trio):
    assert [i.code for i in rules.services_of(users["coordinator"], hospital, query="pet")] == ["RAD-PET"]
    assert [i.code for i in rules.services_of(users["coordinator"], hospital, query="会诊")] == ["CON-ONC"]
    assert [i.code for i in rules.services_of(users["coordinator"], hospital, query="consultation")] == [
        "CON-CHECK",
        "CON-ONC",
    ]


# --- services: clinical orders --------------------------------------------------------------------


def add(users, hospital, before, after, who="coordinator", **extra):
    return rules.add_order(users[who], hospital, {"before": before, "after": after, **extra})


def test_orders_are_added_changed_and_removed_with_an_audit_event_each(users, hospital, trio):
    order, created = add(users, hospital, "CON-ONC", trio["scan"], min_gap_days=1, max_gap_days="3", note="Referral")
    assert created and (order.before, order.after) == (trio["consult"], trio["scan"])
    assert (order.min_gap_days, order.max_gap_days, order.note) == (1, 3, "Referral")
    [event] = events("planning.order.create")
    assert event.hospital == hospital and event.detail == {
        "before": "CON-ONC",
        "after": "RAD-PET",
        "min_gap_days": 1,
        "max_gap_days": 3,
    }
    order = rules.change_order(users["hospital_admin"], order, {"max_gap_days": "", "note": "The oncologist asks"})
    assert (order.min_gap_days, order.max_gap_days, order.note) == (1, None, "The oncologist asks")
    [event] = events("planning.order.update")
    assert event.hospital == hospital and event.detail["changed"]["max_gap_days"] == [3, None]
    assert rules.orders_of(users["clinician"], hospital).get() == order
    rules.remove_order(users["coordinator"], order)
    assert not ServiceOrder.objects.exists()
    [event] = events("planning.order.delete")
    assert event.hospital == hospital and event.object_id == str(order.pk) and event.detail["after"] == "RAD-PET"


def test_a_pair_already_ordered_is_changed_not_doubled(users, hospital, trio):
    first, created = add(users, hospital, "CON-ONC", "RAD-PET")
    again, created_again = add(users, hospital, "CON-ONC", "RAD-PET", min_gap_days=2, max_gap_days=4)
    assert created and not created_again and again.pk == first.pk
    assert ServiceOrder.objects.get().max_gap_days == 4 and ServiceOrder.objects.count() == 1
    assert len(events("planning.order.create")) == 1 and len(events("planning.order.update")) == 1


@pytest.mark.parametrize(
    "extra, field, words",
    [
        ({"min_gap_days": -1}, "min_gap_days", "At least (days): give a whole number from 0 to 90."),
        ({"min_gap_days": 91}, "min_gap_days", "from 0 to 90"),
        ({"max_gap_days": 91}, "max_gap_days", "At most (days): give a whole number from 0 to 90."),
        ({"min_gap_days": 5, "max_gap_days": 3}, "max_gap_days", "must not be below the fewest (5)"),
        ({"min_gap_days": "soon"}, "min_gap_days", "At least (days)"),
        ({"note": "x" * 201}, "note", "Why: write at most 200 characters."),
    ],
)
def test_bad_gaps_are_refused_with_their_field(users, hospital, trio, extra, field, words):
    error = refused(InvalidInput, add, users, hospital, "CON-ONC", "RAD-PET", **extra)
    assert error.field == field and words in str(error.message)
    assert not ServiceOrder.objects.exists() and not events("planning.order.create")


def test_a_bad_change_keeps_the_order_as_it_was(users, hospital, trio):
    order, _ = add(users, hospital, "CON-ONC", "RAD-PET", min_gap_days=1, max_gap_days=3)
    error = refused(InvalidInput, rules.change_order, users["coordinator"], order, {"min_gap_days": 4})
    assert error.field == "max_gap_days"
    order.refresh_from_db()
    assert (order.min_gap_days, order.max_gap_days) == (1, 3) and not events("planning.order.update")


def test_an_order_joins_services_of_one_hospital_and_not_a_service_to_itself(
    users, hospital, other_hospital, trio, foreign_item
):
    error = refused(InvalidInput, add, users, hospital, foreign_item, trio["scan"])
    assert error.field == "before" and "another hospital's catalog" in str(error.message)
    error = refused(InvalidInput, add, users, hospital, trio["consult"], foreign_item)
    assert error.field == "after" and "another hospital's catalog" in str(error.message)
    error = refused(InvalidInput, add, users, hospital, "CON-ONC", "NO-SUCH")
    assert error.field == "after" and "NO-SUCH" in str(error.message)
    error = refused(InvalidInput, add, users, hospital, "", "RAD-PET")
    assert error.field == "before"
    error = refused(InvalidInput, add, users, hospital, "RAD-PET", trio["scan"])
    assert error.field == "after" and "cannot follow itself" in str(error.message)
    assert not ServiceOrder.objects.exists() and not AuditEvent.objects.filter(action__startswith="planning.").exists()


def test_an_order_closing_a_circle_is_refused_and_names_the_circle(users, hospital, trio):
    add(users, hospital, "CON-ONC", "RAD-PET")
    add(users, hospital, "RAD-PET", "CON-CHECK")
    error = refused(InvalidInput, add, users, hospital, "CON-CHECK", "CON-ONC")
    assert error.field == "after"
    assert "CON-CHECK → CON-ONC → RAD-PET → CON-CHECK" in str(error.message)
    error = refused(InvalidInput, add, users, hospital, "RAD-PET", "CON-ONC")  # the reverse of an order
    assert "RAD-PET → CON-ONC → RAD-PET" in str(error.message)
    assert ServiceOrder.objects.count() == 2 and len(events("planning.order.create")) == 2
    # a second route to the same service is no circle
    order, created = add(users, hospital, "CON-ONC", "CON-CHECK", min_gap_days=3)
    assert created and ServiceOrder.objects.count() == 3


def test_the_orders_of_another_hospital_do_not_count_as_a_circle(users, hospital, other_hospital, trio):
    west = {
        code: make_item(other_hospital, code=code, kind="consultation", en=code, zh=code)
        for code in ("CON-ONC", "RAD-PET")
    }
    rules.add_order(users["other_admin"], other_hospital, {"before": "RAD-PET", "after": "CON-ONC"})
    order, created = add(users, hospital, "CON-ONC", "RAD-PET")
    assert created and order.before == trio["consult"] and ServiceOrder.objects.filter(before=west["RAD-PET"]).exists()


def test_who_may_change_orders(users, hospital, other_hospital, trio):
    order, _ = add(users, hospital, "CON-ONC", "RAD-PET")
    for who in ("clinician", "finance", "patient", "platform_admin"):
        refused(PermissionDenied, add, users, hospital, "RAD-PET", "CON-CHECK", who=who)
        refused(PermissionDenied, rules.change_order, users[who], order, {"min_gap_days": 2})
        refused(PermissionDenied, rules.remove_order, users[who], order)
    assert rules.get_order(users["clinician"], order.pk) == order
    for who in ("other_coordinator", "other_admin"):
        refused(PermissionDenied, add, users, hospital, "RAD-PET", "CON-CHECK", who=who)
        refused(PermissionDenied, rules.orders_of, users[who], hospital)
        refused(PermissionDenied, rules.change_order, users[who], order, {"min_gap_days": 2})
        refused(PermissionDenied, rules.remove_order, users[who], order)
        refused(NotFound, rules.get_order, users[who], order.pk)
        # in their own hospital, this hospital's services are unknown codes
        error = refused(InvalidInput, add, users, other_hospital, "RAD-PET", "CON-CHECK", who=who)
        assert error.field == "before"
    refused(PermissionDenied, rules.get_order, users["patient"], order.pk)
    order.refresh_from_db()
    assert order.min_gap_days == 0 and ServiceOrder.objects.count() == 1
    assert len(AuditEvent.objects.filter(action__startswith="planning.")) == 1


# --- the page -------------------------------------------------------------------------------------

PAGE = "planning:rules"


def test_the_page_lists_services_rules_and_orders_for_the_staff(client, users, hospital, trio):
    rules.set_rule(users["coordinator"], trio["scan"], {"duration_minutes": 50, "morning_only": True})
    order, _ = add(users, hospital, "CON-ONC", "RAD-PET", min_gap_days=1, note="Referral")
    client.force_login(users["coordinator"])
    response = client.get(reverse(PAGE))
    page = response.content.decode()
    assert response.status_code == 200
    assert "Planning defaults" in page and "RAD-PET" in page and "Oncology consultation" in page
    assert f'action="{reverse("planning:rule_save", args=[trio["scan"].pk])}"' in page
    assert 'name="duration_minutes" min="1" max="540" value="50"' in page
    assert f'action="{reverse("planning:order_change", args=[order.pk])}"' in page and 'value="Referral"' in page
    assert f'action="{reverse("planning:order_add")}"' in page and 'hx-target="#planning-defaults"' in page
    # the clinician reads the same, without forms
    client.force_login(users["clinician"])
    page = client.get(reverse(PAGE)).content.decode()
    assert "RAD-PET" in page and "Referral" in page and "rule_save" not in page
    assert reverse("planning:order_add") not in page and 'name="duration_minutes"' not in page
    # an htmx search answers with the tables only
    client.force_login(users["coordinator"])
    response = client.get(reverse(PAGE), {"q": "PET"}, HTTP_HX_REQUEST="true")
    part = response.content.decode()
    assert response.status_code == 200 and "<html" not in part
    assert f'id="rule-{trio["scan"].pk}"' in part and f'id="rule-{trio["check"].pk}"' not in part


def test_the_page_refuses_patients_and_other_staff(client, users, hospital, trio):
    order, _ = add(users, hospital, "CON-ONC", "RAD-PET")
    for who in ("patient", "finance"):
        client.force_login(users[who])
        assert client.get(reverse(PAGE)).status_code == 403
    client.force_login(users["clinician"])
    assert client.post(reverse("planning:rule_save", args=[trio["scan"].pk]), {"stay_days": "2"}).status_code == 403
    assert client.post(reverse("planning:order_remove", args=[order.pk])).status_code == 403
    client.force_login(users["other_coordinator"])
    page = client.get(reverse(PAGE)).content.decode()
    assert "RAD-PET" not in page  # their own (empty) catalog
    assert client.post(reverse("planning:rule_save", args=[trio["scan"].pk]), {"stay_days": "2"}).status_code == 404
    assert client.post(reverse("planning:order_change", args=[order.pk]), {"min_gap_days": "2"}).status_code == 404
    assert client.post(reverse("planning:order_remove", args=[order.pk])).status_code == 404
    client.logout()
    assert client.get(reverse(PAGE)).status_code == 302
    assert not ServiceRule.objects.exists() and ServiceOrder.objects.get().min_gap_days == 0


def test_saving_a_rule_on_the_page(client, users, trio):
    client.force_login(users["coordinator"])
    url = reverse("planning:rule_save", args=[trio["scan"].pk])
    response = client.post(url, {"morning_only": "1", "duration_minutes": "40", "stay_days": "", "repeat": ""})
    assert response.status_code == 302 and response["Location"] == reverse(PAGE)
    rule = ServiceRule.objects.get(item=trio["scan"])
    assert (rule.morning_only, rule.duration_minutes, rule.stay_days) == (True, 40, None)
    page = client.get(response["Location"]).content.decode()
    assert "The planning rule of RAD-PET is saved." in page
    # an unticked box clears morning only
    client.post(url, {"duration_minutes": "40", "stay_days": "", "repeat": "one_visit"})
    rule.refresh_from_db()
    assert not rule.morning_only and rule.repeat == "one_visit"


def test_a_bad_rule_on_the_page_is_422_with_the_field_and_what_was_typed(client, users, trio):
    client.force_login(users["coordinator"])
    url = reverse("planning:rule_save", args=[trio["scan"].pk])
    response = client.post(url, {"duration_minutes": "999", "stay_days": "3", "q": "PET"})
    page = response.content.decode()
    assert response.status_code == 422
    assert "Duration (minutes): give a whole number from 1 to 540." in page
    assert 'data-field="duration_minutes"' in page and 'aria-invalid="true"' in page
    assert 'value="999"' in page and f'id="rule-{trio["scan"].pk}" class="has-error"' in page
    assert not ServiceRule.objects.exists()
    # htmx: the tables with the error, 200 so that htmx swaps them in
    response = client.post(url, {"duration_minutes": "999"}, HTTP_HX_REQUEST="true")
    part = response.content.decode()
    assert response.status_code == 200 and "<html" not in part
    assert "Duration (minutes): give a whole number from 1 to 540." in part
    response = client.post(url, {"duration_minutes": "25"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and "The planning rule of RAD-PET is saved." in response.content.decode()
    assert ServiceRule.objects.get().duration_minutes == 25


def test_adding_changing_and_removing_orders_on_the_page(client, users, hospital, trio):
    client.force_login(users["coordinator"])
    add_url = reverse("planning:order_add")
    response = client.post(add_url, {"before": "CON-ONC", "after": "RAD-PET", "min_gap_days": "", "max_gap_days": ""})
    assert response.status_code == 302
    order = ServiceOrder.objects.get()
    assert (order.min_gap_days, order.max_gap_days) == (0, None)
    assert "RAD-PET now follows CON-ONC." in client.get(response["Location"]).content.decode()
    response = client.post(
        reverse("planning:order_change", args=[order.pk]), {"min_gap_days": "1", "max_gap_days": "2", "note": "Why"}
    )
    assert response.status_code == 302
    order.refresh_from_db()
    assert (order.min_gap_days, order.max_gap_days, order.note) == (1, 2, "Why")
    response = client.post(reverse("planning:order_remove", args=[order.pk]), HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and "The order CON-ONC → RAD-PET is removed." in response.content.decode()
    assert not ServiceOrder.objects.exists()
    assert [e.action for e in AuditEvent.objects.filter(action__startswith="planning.order").order_by("pk")] == [
        "planning.order.create",
        "planning.order.update",
        "planning.order.delete",
    ]


def test_bad_orders_on_the_page_are_422_with_the_field(client, users, hospital, trio):
    add(users, hospital, "CON-ONC", "RAD-PET")
    client.force_login(users["coordinator"])
    response = client.post(reverse("planning:order_add"), {"before": "RAD-PET", "after": "CON-ONC", "note": "back"})
    page = response.content.decode()
    assert response.status_code == 422
    assert "Then: this order would make the clinical orders go round in a circle" in page
    assert 'data-field="after"' in page and 'id="order-new" class="has-error"' in page and 'value="back"' in page
    response = client.post(reverse("planning:order_add"), {"before": "RAD-PET", "after": "RAD-PET"})
    assert response.status_code == 422 and "Then: a service cannot follow itself" in response.content.decode()
    order = ServiceOrder.objects.get()
    response = client.post(
        reverse("planning:order_change", args=[order.pk]), {"min_gap_days": "3", "max_gap_days": "1"}
    )
    page = response.content.decode()
    assert response.status_code == 422 and "At most (days): the most days (1) must not be below the fewest (3)." in page
    assert f'id="order-{order.pk}" class="has-error"' in page
    order.refresh_from_db()
    assert ServiceOrder.objects.count() == 1 and (order.min_gap_days, order.max_gap_days) == (0, None)


def test_the_trip_planner_links_to_the_planning_defaults(client, users, trip_case):
    client.force_login(users["coordinator"])
    page = client.get(reverse("planning:case", args=[trip_case.reference])).content.decode()
    assert f'href="{reverse(PAGE)}"' in page


# --- the API --------------------------------------------------------------------------------------


def test_rules_over_the_api(client, users, trio):
    coordinator = auth(users["coordinator"])
    body = client.get(f"{API}/rules/RAD-PET", **coordinator).json()
    assert body["set"] is False and body["effective"] == {
        "morning_only": False,
        "duration_minutes": 30,
        "stay_days": 1,
        "repeat": "separate_days",
    }
    response = client.put(
        f"{API}/rules/RAD-PET",
        {"morning_only": True, "duration_minutes": 60, "repeat": "one_visit"},
        content_type="application/json",
        **coordinator,
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["set"] and body["duration_minutes"] == 60 and body["stay_days"] is None
    assert body["effective"]["duration_minutes"] == 60 and body["effective"]["repeat"] == "one_visit"
    assert [r["item"] for r in client.get(f"{API}/rules", **auth(users["clinician"])).json()] == ["RAD-PET"]
    # PUT replaces: an omitted field is emptied
    body = client.put(f"{API}/rules/RAD-PET", {"stay_days": 2}, content_type="application/json", **coordinator).json()
    assert (body["morning_only"], body["duration_minutes"], body["stay_days"], body["repeat"]) == (False, None, 2, "")
    assert [e.action for e in AuditEvent.objects.filter(action__startswith="planning.rule").order_by("pk")] == [
        "planning.rule.create",
        "planning.rule.update",
    ]


def test_rule_errors_over_the_api(client, users, trio):
    def put(user, code, body):
        return client.put(f"{API}/rules/{code}", body, content_type="application/json", **auth(user))

    response = put(users["coordinator"], "RAD-PET", {"duration_minutes": 0})
    assert response.status_code == 422 and response.json()["error"] == "invalid"
    assert response.json()["field"] == "duration_minutes" and response.json()["detail"].startswith(
        "Duration (minutes):"
    )
    response = put(users["coordinator"], "RAD-PET", {"stay_days": "many"})
    assert response.status_code == 422 and response.json()["field"] == "stay_days"
    response = put(users["coordinator"], "RAD-PET", {"repeat": "weekly"})
    assert response.status_code == 422 and response.json()["field"] == "repeat"
    assert put(users["coordinator"], "NO-SUCH", {}).status_code == 404
    assert put(users["clinician"], "RAD-PET", {"stay_days": 2}).status_code == 403
    assert client.get(f"{API}/rules/RAD-PET", **auth(users["clinician"])).status_code == 200
    for who in ("other_coordinator", "other_admin"):
        assert put(users[who], "RAD-PET", {"stay_days": 2}).status_code == 404
        assert client.get(f"{API}/rules/RAD-PET", **auth(users[who])).status_code == 404
        assert client.get(f"{API}/rules", **auth(users[who])).json() == []
    for who in ("patient", "finance"):
        assert put(users[who], "RAD-PET", {"stay_days": 2}).status_code == 403
        assert client.get(f"{API}/rules", **auth(users[who])).status_code == 403
    assert client.get(f"{API}/rules/RAD-PET").status_code == 401
    assert not ServiceRule.objects.exists()


def test_orders_over_the_api(client, users, hospital, trio):
    coordinator = auth(users["coordinator"])

    def post(body, user=None):
        return client.post(f"{API}/orders", body, content_type="application/json", **(user or coordinator))

    response = post({"before": "CON-ONC", "after": "RAD-PET", "min_gap_days": 1, "note": "Referral"})
    assert response.status_code == 201, response.content
    created = response.json()
    assert created["before"] == "CON-ONC" and created["min_gap_days"] == 1 and created["max_gap_days"] is None
    again = post({"before": "CON-ONC", "after": "RAD-PET", "min_gap_days": 2, "max_gap_days": 5})
    assert again.status_code == 200 and again.json()["id"] == created["id"] and again.json()["max_gap_days"] == 5
    listed = client.get(f"{API}/orders", **auth(users["clinician"])).json()
    assert [(o["before"], o["after"], o["min_gap_days"]) for o in listed] == [("CON-ONC", "RAD-PET", 2)]
    url = f"{API}/orders/{created['id']}"
    changed = client.put(url, {"min_gap_days": 0, "note": "Same day"}, content_type="application/json", **coordinator)
    assert (
        changed.status_code == 200 and changed.json()["note"] == "Same day" and changed.json()["max_gap_days"] is None
    )
    assert client.delete(url, **coordinator).status_code == 204
    assert client.delete(url, **coordinator).status_code == 404
    assert not ServiceOrder.objects.exists()


def test_order_errors_over_the_api(client, users, hospital, trio, foreign_item):
    coordinator = auth(users["coordinator"])

    def post(body, user=None):
        return client.post(f"{API}/orders", body, content_type="application/json", **(user or coordinator))

    order = post({"before": "CON-ONC", "after": "RAD-PET"}).json()
    cases = [
        ({"before": "RAD-PET", "after": "CON-ONC"}, "after"),  # circle
        ({"before": "RAD-PET", "after": "RAD-PET"}, "after"),  # itself
        ({"before": "RAD-PET", "after": "CON-CHECK", "min_gap_days": 4, "max_gap_days": 2}, "max_gap_days"),
        ({"before": "RAD-PET", "after": "CON-CHECK", "min_gap_days": 100}, "min_gap_days"),
        ({"before": "RAD-PET", "after": "CON-CHECK", "min_gap_days": "x"}, "min_gap_days"),
        ({"before": "WEST-ONLY", "after": "CON-CHECK"}, "before"),
    ]
    for body, field in cases:
        response = post(body)
        assert response.status_code == 422 and response.json()["field"] == field, (body, response.content)
    # another hospital's service cannot be named: the code is looked up in the caller's own catalog
    response = post({"before": "RAD-PET", "after": "CON-CHECK"}, auth(users["other_coordinator"]))
    assert response.status_code == 422 and response.json()["field"] == "after"
    assert not ServiceOrder.objects.filter(before=foreign_item).exists()
    url = f"{API}/orders/{order['id']}"
    for who in ("other_coordinator", "other_admin"):
        assert client.put(url, {}, content_type="application/json", **auth(users[who])).status_code == 404
        assert client.delete(url, **auth(users[who])).status_code == 404
        assert client.get(f"{API}/orders", **auth(users[who])).json() == []
    assert client.put(url, {}, content_type="application/json", **auth(users["clinician"])).status_code == 403
    assert client.delete(url, **auth(users["clinician"])).status_code == 403
    assert post({"before": "RAD-PET", "after": "CON-CHECK"}, auth(users["clinician"])).status_code == 403
    assert post({"before": "RAD-PET", "after": "CON-CHECK"}, auth(users["patient"])).status_code == 403
    assert client.get(f"{API}/orders", **auth(users["patient"])).status_code == 403
    assert client.post(f"{API}/orders", {}, content_type="application/json").status_code == 401
    assert ServiceOrder.objects.count() == 1


def test_the_new_routes_have_openapi_summaries(client):
    paths = client.get("/api/openapi.json").json()["paths"]
    for path, method in [
        ("/api/planning/rules/{item_code}", "get"),
        ("/api/planning/rules/{item_code}", "put"),
        ("/api/planning/orders", "get"),
        ("/api/planning/orders", "post"),
        ("/api/planning/orders/{order_id}", "put"),
        ("/api/planning/orders/{order_id}", "delete"),
    ]:
        assert paths[path][method]["summary"], (path, method)
    assert "Add a clinical order" in paths["/api/planning/orders"]["post"]["summary"]


# --- a plan then uses the defaults -----------------------------------------------------------------


def test_a_plan_uses_the_rules_and_orders_set_through_the_api(client, users, hospital, patient, trio, arrival):
    clinic = make_resource(hospital, "clinics", "clinic_session", "visit", 100)
    scanner = make_resource(hospital, "pet", "pet_ct", "slot", 20, "08:00-20:00")
    ServiceUsage.objects.create(item=trio["consult"], resource=clinic)
    ServiceUsage.objects.create(item=trio["check"], resource=clinic)
    ServiceUsage.objects.create(item=trio["scan"], resource=scanner)
    items = [trio["consult"], trio["scan"], trio["check"]]
    case = make_case(patient, hospital, state="accepted", services=items, desired_arrival=arrival)
    accept_quote(case, items, users["coordinator"])
    # without any default the three services fit on the first day
    first = services.plan_case(users["coordinator"], case, inputs(arrival))
    assert len({row.day for row in first.items.filter(kind=ItemKind.VISIT)}) == 1
    coordinator = auth(users["coordinator"])
    for body in (
        {"before": "CON-ONC", "after": "RAD-PET", "min_gap_days": 2, "note": "Referral"},
        {"before": "RAD-PET", "after": "CON-CHECK", "min_gap_days": 3, "max_gap_days": 4},
    ):
        assert client.post(f"{API}/orders", body, content_type="application/json", **coordinator).status_code == 201
    response = client.put(
        f"{API}/rules/RAD-PET", {"duration_minutes": 90, "stay_days": 2}, content_type="application/json", **coordinator
    )
    assert response.status_code == 200
    # no orders given: the planner takes the catalog's, now those set through the API
    itinerary = services.plan_case(users["coordinator"], case, inputs(arrival))
    assert itinerary.feasible
    assert itinerary.orders == [
        {"before": "CON-ONC", "after": "RAD-PET", "min": 2, "max": None},
        {"before": "RAD-PET", "after": "CON-CHECK", "min": 3, "max": 4},
    ]
    visits = {row.item.code: row for row in itinerary.items.filter(kind=ItemKind.VISIT)}
    assert (visits["RAD-PET"].day - visits["CON-ONC"].day).days == 2
    assert (visits["CON-CHECK"].day - visits["RAD-PET"].day).days == 3
    scan = visits["RAD-PET"]
    minutes = (scan.ends_at.hour * 60 + scan.ends_at.minute) - (scan.starts_at.hour * 60 + scan.starts_at.minute)
    assert minutes == 90
    stays = itinerary.items.filter(kind=ItemKind.STAY, item=trio["scan"])
    assert [row.day for row in stays] == [scan.day + datetime.timedelta(days=1)]

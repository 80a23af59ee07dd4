"""The coordinator board: filters, the first-response timer that flags overdue cases, grouping by state,
pagination and the htmx partial; and the command-line list."""

import datetime

import pytest
from django.core.management import call_command
from django.urls import reverse

from laihua.cases import services
from laihua.cases.models import Case
from laihua.cases.states import State
from laihua.errors import InvalidInput
from laihua.kit import clock
from tests.builders import make_case, make_patient, make_user


def _age(case, **delta):
    Case.objects.filter(pk=case.pk).update(created_at=clock.now() - datetime.timedelta(**delta))
    case.refresh_from_db()
    return case


@pytest.fixture
def cases(hospital, patient, other_patient, users, mri):
    """Four cases at `hospital`: a fresh one, an overdue one, an answered old one, a cancelled old one."""
    ortho = hospital.departments.get(code="orthopaedics")
    fresh = make_case(patient, hospital, services=[mri], department=mri.department, description="Fresh")
    overdue = _age(make_case(other_patient, hospital, department=ortho, description="Late"), hours=30)
    answered = _age(
        make_case(patient, hospital, state=State.TRIAGE, coordinator=users["coordinator"], description="Done"), days=10
    )
    Case.objects.filter(pk=answered.pk).update(first_response_at=clock.now() - datetime.timedelta(days=9))
    cancelled = _age(make_case(other_patient, hospital, state=State.CANCELLED, description="Gone"), days=40)
    return {"fresh": fresh, "overdue": overdue, "answered": answered, "cancelled": cancelled}


def _refs(actor, **filters):
    return [case.reference for case in services.board(actor, filters).page.object_list]


def test_an_unanswered_case_older_than_the_deadline_is_overdue_and_comes_first(cases, users):
    board = services.board(users["coordinator"], {})
    assert board.page.object_list[0] == cases["overdue"]
    assert {c.reference: c.overdue for c in board.page.object_list} == {
        cases["overdue"].reference: True,
        cases["fresh"].reference: False,
        cases["answered"].reference: False,
        cases["cancelled"].reference: False,
    }
    assert board.overdue == 1
    assert services.is_overdue(cases["overdue"]) and not services.is_overdue(cases["fresh"])


def test_the_deadline_comes_from_the_settings(cases, users, settings):
    settings.LAIHUA_FIRST_RESPONSE_HOURS = 48
    assert services.board(users["coordinator"], {}).overdue == 0
    settings.LAIHUA_FIRST_RESPONSE_HOURS = 0
    assert set(_refs(users["coordinator"], overdue="on")) == {cases["overdue"].reference, cases["fresh"].reference}


def test_a_staff_message_ends_the_overdue_flag(cases, users):
    services.post_message(users["clinician"], cases["overdue"], "We are looking at it.")
    assert services.board(users["coordinator"], {}).overdue == 0


def test_the_overdue_filter(cases, users):
    assert _refs(users["coordinator"], overdue="on") == [cases["overdue"].reference]


def test_the_state_filter_and_the_counts_by_state(cases, users):
    board = services.board(users["coordinator"], {"state": "triage"})
    assert [c.reference for c in board.page.object_list] == [cases["answered"].reference]
    assert board.counts == {"inquiry": 2, "triage": 1, "cancelled": 1}
    with pytest.raises(InvalidInput) as caught:
        services.board(users["coordinator"], {"state": "lost"})
    assert caught.value.field == "state"


def test_the_country_filter(cases, users):
    assert set(_refs(users["coordinator"], country="de")) == {cases["overdue"].reference, cases["cancelled"].reference}
    with pytest.raises(InvalidInput):
        services.board(users["coordinator"], {"country": "Germany"})


def test_the_department_filter(cases, users):
    assert _refs(users["coordinator"], department="radiology") == [cases["fresh"].reference]
    assert _refs(users["coordinator"], department="orthopaedics") == [cases["overdue"].reference]


def test_the_coordinator_filters(cases, users):
    coordinator = users["coordinator"]
    assert _refs(coordinator, coordinator="mine") == [cases["answered"].reference]
    assert _refs(users["hospital_admin"], coordinator="mine") == []
    assert _refs(users["hospital_admin"], coordinator="east-coord") == [cases["answered"].reference]
    assert cases["answered"].reference not in _refs(coordinator, coordinator="unassigned")
    assert len(_refs(coordinator, coordinator="unassigned")) == 3


def test_the_age_filters(cases, users):
    assert _refs(users["coordinator"], opened_within=1) == [cases["fresh"].reference]
    assert set(_refs(users["coordinator"], opened_within=15)) == {
        cases["fresh"].reference,
        cases["overdue"].reference,
        cases["answered"].reference,
    }
    assert _refs(users["coordinator"], older_than=30) == [cases["cancelled"].reference]
    with pytest.raises(InvalidInput) as caught:
        services.board(users["coordinator"], {"older_than": "a week"})
    assert caught.value.field == "older_than"


def test_the_free_text_filter_finds_a_reference_or_a_name(cases, users):
    assert _refs(users["coordinator"], q=cases["fresh"].reference) == [cases["fresh"].reference]
    assert set(_refs(users["coordinator"], q="muster")) == {cases["overdue"].reference, cases["cancelled"].reference}


def test_the_board_is_paginated(hospital, users):
    patient = make_patient(make_user("many", "patient"))
    for _n in range(30):
        make_case(patient, hospital)
    first = services.board(users["coordinator"], {})
    second = services.board(users["coordinator"], {}, page=2)
    assert first.page.paginator.num_pages == 2
    assert len(first.page.object_list) == 25 and len(second.page.object_list) == 5


def test_the_board_page_flags_overdue_cases_prominently(client, cases, users):
    client.force_login(users["coordinator"])
    response = client.get(reverse("cases:list"))
    page = response.content.decode()
    assert response.status_code == 200 and "<html" in page
    assert "1 case is waiting for a first answer past the deadline." in page
    assert page.count('class="is-overdue"') == 1
    assert page.index(cases["overdue"].reference) < page.index(cases["fresh"].reference)


def test_an_htmx_filter_request_gets_only_the_results(client, cases, users):
    client.force_login(users["coordinator"])
    response = client.get(reverse("cases:list"), {"department": "radiology"}, HTTP_HX_REQUEST="true")
    page = response.content.decode()
    assert "<html" not in page and cases["fresh"].reference in page and cases["overdue"].reference not in page
    assert "HX-Request" in response["Vary"]


def test_a_bad_filter_on_the_page_says_which(client, cases, users):
    client.force_login(users["coordinator"])
    response = client.get(reverse("cases:list"), {"opened_within": "soon"})
    assert response.status_code == 422 and "Opened within (days)" in response.content.decode()


def test_browsing_the_board_is_audited(cases, users):
    from laihua.audit.models import AuditEvent

    services.board(users["coordinator"], {"overdue": "on"})
    event = AuditEvent.objects.get(action="case.board")
    assert event.detail["filters"] == {"overdue": True} and event.hospital == users["coordinator"].hospital


def test_the_patient_list_shows_their_cases_in_their_language(client, cases, users):
    client.force_login(users["patient"])
    page = client.get("/zh-hans/cases/").content.decode()
    assert cases["fresh"].reference in page and cases["answered"].reference in page
    assert cases["overdue"].reference not in page


def test_the_command_lists_a_hospitals_cases_overdue_first(cases, capsys):
    call_command("cases", "list", "--hospital", "east")
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(cases["overdue"].reference) and lines[0].endswith("OVERDUE")
    assert len(lines) == 4
    call_command("cases", "list", "--hospital", "east", "--state", "triage")
    assert capsys.readouterr().out.split("\t")[0] == cases["answered"].reference

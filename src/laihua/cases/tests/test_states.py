"""The state machine: only the transitions in the table, each only by its roles, each on the timeline and
in the audit trail; never a state outside the table; two people moving at once cannot both win."""

import threading

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from laihua.accounts.models import Role
from laihua.audit.models import AuditEvent
from laihua.cases.models import Case, CaseEvent
from laihua.cases.services import InvalidTransition, move, transition
from laihua.cases.states import MAIN_PATH, SYSTEM, TRANSITIONS, State, allowed_moves
from laihua.errors import DomainError, NotFound, PermissionDenied

ACTOR_KEYS = ("patient", "coordinator", "hospital_admin", "clinician", "finance")


def _set_state(case, state):
    Case.objects.filter(pk=case.pk).update(state=state)
    case.refresh_from_db()


def _snapshot(case):
    case.refresh_from_db()
    return (
        case.state,
        case.state_changed_at,
        CaseEvent.objects.filter(case=case).count(),
        AuditEvent.objects.filter(action="case.transition").count(),
    )


def test_the_table_only_names_known_states_and_roles():
    roles = set(Role.values) | {SYSTEM}
    for (frm, to), allowed in TRANSITIONS.items():
        assert frm in State.values and to in State.values and frm != to
        assert allowed and set(allowed) <= roles
    assert set(MAIN_PATH) <= set(State.values)


def test_every_pair_of_states_is_allowed_exactly_to_the_roles_in_the_table(case, users):
    """All 13 x 13 pairs, for the patient, each staff role and the system: a move not in the table is
    refused and changes nothing; a move in the table succeeds and is recorded with who and from where."""
    actors = {key: users[key] for key in ACTOR_KEYS}
    checked = refused = 0
    for frm in State.values:
        for to in State.values:
            for key, actor in [*actors.items(), (SYSTEM, None)]:
                _set_state(case, frm)
                role = SYSTEM if key == SYSTEM else actor.role
                before = _snapshot(case)
                if role in TRANSITIONS.get((frm, to), ()):
                    moved = move(actor, case, to, note="ok", by_system=key == SYSTEM)
                    assert moved.state == to
                    event = CaseEvent.objects.filter(case=case, kind="transition").latest("pk")
                    assert (event.from_state, event.to_state, event.actor) == (frm, to, actor)
                    assert AuditEvent.objects.filter(action="case.transition").count() == before[3] + 1
                else:
                    with pytest.raises(InvalidTransition):
                        move(actor, case, to, by_system=key == SYSTEM)
                    assert _snapshot(case) == before
                    refused += 1
                checked += 1
    roles = {users[key].role for key in ACTOR_KEYS} | {SYSTEM}
    assert checked == 13 * 13 * 6
    assert checked - refused == sum(len(roles & set(allowed)) for allowed in TRANSITIONS.values())


def test_an_unknown_state_is_refused_with_the_field_named(case, users):
    with pytest.raises(InvalidTransition) as caught:
        move(users["coordinator"], case, "teleported")
    assert caught.value.field == "state"
    case.refresh_from_db()
    assert case.state == State.INQUIRY


def test_another_hospitals_staff_cannot_move_the_case(case, users):
    with pytest.raises(PermissionDenied):
        move(users["other_coordinator"], case, State.TRIAGE)
    case.refresh_from_db()
    assert case.state == State.INQUIRY and not case.events.exists()


def test_another_patient_cannot_move_the_case_and_learns_nothing(case, other_patient):
    with pytest.raises(NotFound):
        move(other_patient.user, case, State.CANCELLED)
    case.refresh_from_db()
    assert case.state == State.INQUIRY


def test_a_platform_admin_or_insurer_cannot_move_a_case(case, users):
    for key in ("platform_admin", "insurer_agent"):
        with pytest.raises(PermissionDenied):
            move(users[key], case, State.TRIAGE)
    case.refresh_from_db()
    assert case.state == State.INQUIRY


def test_the_patient_may_cancel_before_arrival_only(case, users):
    patient = users["patient"]
    assert allowed_moves(State.SCHEDULED, Role.PATIENT) == [State.CANCELLED]
    for state in (State.ARRIVED, State.IN_TREATMENT, State.DISCHARGED, State.CLOSED):
        _set_state(case, state)
        with pytest.raises(InvalidTransition):
            move(patient, case, State.CANCELLED)
    _set_state(case, State.ACCEPTED)
    assert move(patient, case, State.CANCELLED).state == State.CANCELLED


def test_triage_by_the_hospital_stops_the_first_response_timer(case, users):
    move(users["coordinator"], case, State.TRIAGE)
    case.refresh_from_db()
    assert case.first_response_at is not None


def test_a_patient_cancelling_an_inquiry_is_not_a_first_response(case, users):
    move(users["patient"], case, State.CANCELLED)
    case.refresh_from_db()
    assert case.first_response_at is None


def test_a_move_by_staff_tells_the_patient_by_email_without_the_note(
    case, users, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        transition(users["coordinator"], case, State.DECLINED, note="Our MRI is booked for months.")
    assert [m.to for m in mailoutbox] == [[users["patient"].email]]
    assert case.reference in mailoutbox[0].subject
    assert "booked for months" not in mailoutbox[0].body
    assert "/en/cases/" + case.reference in mailoutbox[0].body


def test_a_cancellation_by_the_patient_tells_the_coordinators(
    case, users, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        transition(users["patient"], case, State.CANCELLED)
    assert [m.to for m in mailoutbox] == [[users["coordinator"].email]]


def test_a_refused_move_sends_no_email(case, users, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(InvalidTransition):
        transition(users["coordinator"], case, State.CLOSED)
    assert mailoutbox == []


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(st.tuples(st.sampled_from(State.values), st.sampled_from((*ACTOR_KEYS, SYSTEM))), max_size=25))
def test_random_moves_never_leave_the_table(case, users, steps):
    """Whatever anyone tries, the case only ever takes steps that the table allows to that role, and its
    timeline is one unbroken chain from inquiry to the state it is in."""
    Case.objects.filter(pk=case.pk).update(state=State.INQUIRY)
    CaseEvent.objects.filter(case=case).delete()
    for to, key in steps:
        actor = None if key == SYSTEM else users[key]
        role = SYSTEM if key == SYSTEM else actor.role
        case.refresh_from_db()
        before = case.state
        try:
            move(actor, case, to, by_system=key == SYSTEM)
        except DomainError:
            case.refresh_from_db()
            assert case.state == before
            continue
        assert role in TRANSITIONS[(before, to)]
    case.refresh_from_db()
    assert case.state in State.values
    chain = list(CaseEvent.objects.filter(case=case, kind="transition").order_by("pk"))
    expected_from = State.INQUIRY
    for event in chain:
        assert event.from_state == expected_from
        assert (event.from_state, event.to_state) in TRANSITIONS
        expected_from = event.to_state
    assert case.state == expected_from


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_two_people_moving_the_same_case_at_once_cannot_both_succeed(hospital, users, patient, mri):
    """Five coordinators press "triage" at the same moment: the row lock lets exactly one through."""
    from django.db import connection

    from laihua.accounts.models import Role as R
    from tests.builders import make_case, make_user

    case = make_case(patient, hospital, services=[mri])
    coordinators = [users["coordinator"], *(make_user(f"east-coord-{n}", R.COORDINATOR, hospital) for n in range(4))]
    barrier = threading.Barrier(len(coordinators))
    outcomes: list[str] = []
    lock = threading.Lock()

    def press(actor):
        try:
            barrier.wait()
            move(actor, Case.objects.get(pk=case.pk), State.TRIAGE)
            result = "moved"
        except InvalidTransition:
            result = "refused"
        finally:
            connection.close()
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=press, args=(actor,)) for actor in coordinators]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["moved"] + ["refused"] * (len(coordinators) - 1)
    assert CaseEvent.objects.filter(case=case, kind="transition").count() == 1
    assert Case.objects.get(pk=case.pk).state == State.TRIAGE

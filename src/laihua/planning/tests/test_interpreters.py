"""Interpreters planned with a case's trip: assigned per visit from the hospital's pool, never in two places
across confirmed trips, absences respected, the shortage reported and offered remotely, and each
interpreter's own day with only what they need."""

import datetime
from io import BytesIO

import pytest
from pypdf import PdfReader

from laihua.accounts.models import Role
from laihua.accounts.services import create_api_token
from laihua.audit.models import AuditEvent
from laihua.interpreters.models import Absence, Interpreter
from laihua.planning import services
from laihua.planning.models import InterpreterMode, ItemKind, ItineraryStatus
from laihua.planning.services import PlaceTaken
from laihua.planning.tests.conftest import inputs
from tests.builders import make_user

pytestmark = pytest.mark.django_db


def auth(user):
    return {"HTTP_AUTHORIZATION": f"Bearer {create_api_token(user, user, 'test')[1]}"}


def interpreter(hospital, name="Wang Fang", languages=("en",), **extra):
    values = {"works_from": "07:00", "works_until": "20:00", "weekdays": [1, 2, 3, 4, 5, 6, 7]}
    values.update(extra)
    return Interpreter.objects.create(hospital=hospital, name=name, languages=list(languages), **values)


def visits(itinerary):
    return list(itinerary.items.filter(kind=ItemKind.VISIT).select_related("interpreter").order_by("day", "starts_at"))


def minutes(t):
    return t.hour * 60 + t.minute


def test_each_visit_gets_an_interpreter_of_the_patients_language(client, users, trip_case, hospital, arrival):
    interpreter(hospital, "Ivan Petrov", ["ru"])
    fang = interpreter(hospital, "Wang Fang", ["en", "fr"], level="certified_medical")
    itinerary = services.plan_case(users["coordinator"], trip_case, inputs(arrival))
    assert itinerary.feasible
    rows = visits(itinerary)
    assert rows and all(r.interpreter_id == fang.pk and r.interpreter_language == "en" for r in rows)
    assert all(r.interpreter_mode == InterpreterMode.IN_PERSON for r in rows)
    body = client.get(f"/api/planning/cases/{trip_case.reference}/itinerary", **auth(users["patient"])).json()
    shown = [i["interpreter"] for i in body["items"] if i["kind"] == "visit"]
    assert shown and all(s == {"name": "Wang Fang", "language": "en", "mode": "in_person"} for s in shown)
    assert all(i["interpreter"] is None for i in body["items"] if i["kind"] != "visit")
    client.force_login(users["patient"])
    page = client.get(f"/en/planning/cases/{trip_case.reference}/")
    assert "Interpreter: Wang Fang, English" in page.content.decode()
    ics = client.get(f"/en/planning/itineraries/{itinerary.pk}/trip.ics").content.decode()
    assert "Interpreter: Wang Fang\\, English" in ics or "Interpreter: Wang Fang, English" in ics
    pdf = client.get(f"/en/planning/itineraries/{itinerary.pk}/trip.pdf").content
    text = "".join(page.extract_text() for page in PdfReader(BytesIO(pdf)).pages)
    assert text.count("Interpreter: Wang Fang, English") == len(rows)


def test_a_chinese_speaking_patient_needs_none(users, trip_case, hospital, arrival, patient):
    interpreter(hospital)
    patient.languages = ["zh", "en"]
    patient.save()
    itinerary = services.plan_case(users["coordinator"], trip_case, inputs(arrival))
    assert all(r.interpreter_language == "" and r.interpreter_id is None for r in visits(itinerary))


def test_no_interpreter_of_the_language_is_a_shortage_with_remote_offered(client, users, trip_case, hospital, arrival):
    interpreter(hospital, "Ivan Petrov", ["ru"])
    itinerary = services.plan_case(users["coordinator"], trip_case, inputs(arrival))
    rows = visits(itinerary)
    assert rows and all(r.interpreter_id is None and r.interpreter_mode == InterpreterMode.NONE for r in rows)
    client.force_login(users["coordinator"])
    page = client.get(f"/en/planning/cases/{trip_case.reference}/").content.decode()
    assert 'id="interpreter-short"' in page and "Remote by video" in page
    response = client.post(f"/en/planning/entries/{rows[0].pk}/interpreter/", {"mode": "video"})
    assert response.status_code == 302
    rows[0].refresh_from_db()
    assert rows[0].interpreter_mode == InterpreterMode.VIDEO
    # The itinerary API: the remote interpretation is an interpreter event right after its visit; the
    # visits with no interpreter arranged have none.
    events = client.get(f"/api/planning/cases/{trip_case.reference}/itinerary").json()["events"]
    remote = [n for n, e in enumerate(events) if e["kind"] == "interpreter"]
    assert len(remote) == 1
    event, visit = events[remote[0]], events[remote[0] - 1]
    assert event["interpreter"] == visit["interpreter"] == {"name": "", "language": "English", "mode": "video"}
    assert (event["start"], event["end"], event["service"]) == (visit["start"], visit["end"], rows[0].item.code)
    assert event["reason"].endswith("remote by video")
    others = [e for e in events if e["kind"] in ("appointment", "procedure") and e is not visit]
    assert len(others) == len(rows) - 1 and all(e["interpreter"] is None for e in others)
    services.confirm_itinerary(users["coordinator"], itinerary)
    found = services.shortages(users["hospital_admin"])
    assert {r["language"] for r in found} == {"en"} and {r["language_name"] for r in found} == {"English"}
    assert {r["month"] for r in found} == {r.day.strftime("%Y-%m") for r in rows}
    assert sum(r["remote"] for r in found) == 1
    assert sum(r["needed"] for r in found) == len(rows) and sum(r["short"] for r in found) == len(rows)
    csv_text = client.get("/en/planning/interpreters/shortages/?format=csv").content.decode()
    assert csv_text.splitlines()[0] == "month,language,needed,short,remote" and ",en," in csv_text
    api = client.get("/api/planning/interpreters/shortages", **auth(users["hospital_admin"]))
    assert api.status_code == 200 and sum(r["short"] for r in api.json()) == len(rows)
    # Another hospital's admin sees none of it; a clinician may not read it.
    assert services.shortages(users["other_admin"]) == []
    refused = client.get("/api/planning/interpreters/shortages", **auth(users["clinician"]))
    assert refused.status_code == 403


def test_remote_is_refused_for_another_hospital_and_for_a_visit_with_one(client, users, trip_case, hospital, arrival):
    interpreter(hospital)
    itinerary = services.plan_case(users["coordinator"], trip_case, inputs(arrival))
    row = visits(itinerary)[0]
    response = client.post(
        f"/api/planning/entries/{row.pk}/interpreter",
        {"mode": "video"},
        content_type="application/json",
        **auth(users["coordinator"]),
    )
    assert response.status_code == 422 and response.json()["field"] == "mode"
    response = client.post(
        f"/api/planning/entries/{row.pk}/interpreter",
        {"mode": "video"},
        content_type="application/json",
        **auth(users["other_coordinator"]),
    )
    assert response.status_code == 404


def test_days_away_and_weekdays_are_respected(users, trip_case, hospital, arrival):
    fang = interpreter(hospital)
    Absence.objects.create(interpreter=fang, starts_on=arrival, ends_on=arrival + datetime.timedelta(days=40))
    itinerary = services.plan_case(users["coordinator"], trip_case, inputs(arrival))
    assert all(r.interpreter_id is None for r in visits(itinerary))
    Absence.objects.all().delete()
    fang.weekdays = [((arrival + datetime.timedelta(days=1)).isoweekday())]
    fang.save()
    itinerary = services.plan_case(users["coordinator"], trip_case, inputs(arrival))
    for row in visits(itinerary):
        assert (row.interpreter_id == fang.pk) == (row.day.isoweekday() in fang.weekdays)


def test_one_interpreter_is_never_with_two_patients_at_once(users, trip_case, other_case, hospital, arrival):
    fang = interpreter(hospital)
    first = services.plan_case(users["coordinator"], trip_case, inputs(arrival))
    services.confirm_itinerary(users["coordinator"], first)
    second = services.plan_case(users["coordinator"], other_case, inputs(arrival))
    taken = {(r.day, minutes(r.starts_at), minutes(r.ends_at)) for r in visits(first) if r.interpreter_id}
    assert taken
    for row in visits(second):
        if row.interpreter_id == fang.pk:
            for day, begin, end in taken:
                assert row.day != day or minutes(row.ends_at) <= begin or end <= minutes(row.starts_at)


def test_confirming_after_the_interpreter_was_taken_plans_again(users, trip_case, other_case, hospital, arrival):
    """Two drafts that name the interpreter at overlapping times (as two plans made at the same moment, before
    either's pass saw the other, could): the second to be confirmed finds her taken, books nothing and is
    planned again without her at those times."""
    fang = interpreter(hospital)
    first = services.plan_case(users["coordinator"], trip_case, inputs(arrival))
    services.confirm_itinerary(users["coordinator"], first)
    second = services.plan_case(users["coordinator"], other_case, inputs(arrival))
    # The second draft's visit of the same service at the same time as one of the first's, with her.
    taken = next(r for r in visits(first) if r.interpreter_id == fang.pk)
    row = next(r for r in visits(second) if r.item_id == taken.item_id)
    row.day, row.starts_at, row.ends_at = taken.day, taken.starts_at, taken.ends_at
    row.interpreter = fang
    row.interpreter_mode = InterpreterMode.IN_PERSON
    row.save()
    with pytest.raises(PlaceTaken) as caught:
        services.confirm_itinerary(users["coordinator"], second)
    assert "The interpreter Wang Fang was booked for another patient" in str(caught.value.message)
    second.refresh_from_db()
    assert second.status != ItineraryStatus.ACTIVE
    replanned = caught.value.itinerary
    booked = [(r.day, minutes(r.starts_at), minutes(r.ends_at)) for r in visits(first) if r.interpreter_id]
    for row in visits(replanned):
        if row.interpreter_id == fang.pk:
            assert all(row.day != d or minutes(row.ends_at) <= b or e <= minutes(row.starts_at) for d, b, e in booked)


def test_the_interpreter_reads_their_own_day_and_nothing_else(client, users, trip_case, hospital, arrival):
    account = make_user("east-interp", Role.INTERPRETER, hospital)
    fang = interpreter(hospital, user=account)
    itinerary = services.plan_case(users["coordinator"], trip_case, inputs(arrival))
    services.confirm_itinerary(users["coordinator"], itinerary)
    day = visits(itinerary)[0].day
    client.force_login(account)
    page = client.get(f"/en/planning/interpreters/my-day/?day={day.isoformat()}")
    text = page.content.decode()
    assert page.status_code == 200 and "Patient: Jane" in text and "Doe" not in text
    assert hospital.address["zh-hans"] in text
    event = AuditEvent.objects.filter(action="planning.interpreter.day").latest("pk")
    assert event.actor_id == account.pk and event.detail["visits"]
    body = client.get(f"/api/planning/interpreters/my-day?day={day.isoformat()}", **auth(account)).json()
    assert body["interpreter"] == fang.name and body["visits"][0]["patient"] == "Jane"
    assert set(body["visits"][0]) >= {"starts_at", "language", "place", "department", "address_zh"}
    assert "passport" not in str(body).lower()
    # An interpreter reads no case, no itinerary, no pool.
    assert client.get(f"/api/cases/{trip_case.reference}", **auth(account)).status_code == 404
    assert client.get(f"/api/planning/cases/{trip_case.reference}/itinerary", **auth(account)).status_code == 404
    assert client.get(f"/api/planning/itineraries/{itinerary.pk}", **auth(account)).status_code == 404
    assert client.get("/api/interpreters", **auth(account)).status_code == 403
    # Staff have no "my day".
    assert client.get("/api/planning/interpreters/my-day", **auth(users["coordinator"])).status_code == 403


def test_the_hospitals_pass_frees_an_interpreter_for_a_later_patient_and_says_so(
    client, users, trip_case, other_case, other_patient, hospital, arrival
):
    """The English patient's trip, confirmed first, has the certified interpreter who also speaks French at
    its surgery. A French patient planned next needs her at that time: the pass gives the surgery the other
    English interpreter, tells the English case so on its timeline (and the audit), and gives every French
    visit an interpreter in person. No one is then in two places across the confirmed trip and the draft."""
    other_patient.languages = ["fr"]
    other_patient.save()
    fang = interpreter(hospital, "Wang Fang", ["en", "fr"], level="certified_medical")
    li = interpreter(hospital, "Li Na", ["en"])
    first = services.plan_case(users["coordinator"], trip_case, inputs(arrival))
    assert {r.interpreter_id for r in visits(first)} == {fang.pk}
    services.confirm_itinerary(users["coordinator"], first)
    second = services.plan_case(users["coordinator"], other_case, inputs(arrival))
    french = visits(second)
    assert french and all(r.interpreter_id == fang.pk and r.interpreter_language == "fr" for r in french)
    moved = [r for r in visits(first) if r.interpreter_id == li.pk]
    assert moved and all(r.interpreter_mode == InterpreterMode.IN_PERSON for r in visits(first))
    events = trip_case.events.filter(kind="interpreter_changed")
    assert events.count() == len(moved)
    assert {e.detail["entry"] for e in events} == {r.pk for r in moved} and "Li Na" in events.first().note
    assert AuditEvent.objects.filter(action="planning.interpreter.reassigned").count() == len(moved)
    assert not other_case.events.filter(kind="interpreter_changed").exists()  # a draft: nothing was sent
    taken = [(r.interpreter_id, r.day, minutes(r.starts_at), minutes(r.ends_at)) for r in visits(first) + french]
    for n, (who, day, begin, end) in enumerate(taken):
        for other, other_day, other_begin, other_end in taken[n + 1 :]:
            assert who != other or day != other_day or end <= other_begin or other_end <= begin
    # The English patient reads the change on the trip's page.
    client.force_login(users["patient"])
    page = client.get(f"/en/planning/cases/{trip_case.reference}/").content.decode()
    assert "Interpreter: Li Na, English" in page


def test_a_change_of_the_pool_moves_the_confirmed_visits_and_says_so(users, trip_case, hospital, arrival):
    """Days away recorded after a trip is confirmed: its visits go to another interpreter free then (the case's
    timeline says so); with no one free they have none in person (and the timeline says that); when the days
    away are taken back, the visits get an interpreter again."""
    from laihua.interpreters import services as pool

    fang = interpreter(hospital, "Wang Fang", ["en"], level="certified_medical")
    li = interpreter(hospital, "Li Na", ["en"])
    itinerary = services.plan_case(users["coordinator"], trip_case, inputs(arrival))
    services.confirm_itinerary(users["coordinator"], itinerary)
    rows = visits(itinerary)
    assert rows and {r.interpreter_id for r in rows} == {fang.pk}
    first, last = rows[0].day.isoformat(), rows[-1].day.isoformat()
    pool.add_absence(users["coordinator"], fang.pk, {"starts_on": first, "ends_on": last})
    assert {r.interpreter_id for r in visits(itinerary)} == {li.pk}
    changes = trip_case.events.filter(kind="interpreter_changed")
    assert changes.count() == len(rows) and all("Li Na" in e.note for e in changes)
    away = pool.add_absence(users["coordinator"], li.pk, {"starts_on": first, "ends_on": last})
    rows = visits(itinerary)
    assert all(r.interpreter_id is None and r.interpreter_mode == InterpreterMode.NONE for r in rows)
    lost = trip_case.events.filter(kind="interpreter_changed").order_by("-pk")[: len(rows)]
    assert all("No interpreter in person" in e.note for e in lost)
    pool.delete_absence(users["coordinator"], li.pk, away.pk)
    rows = visits(itinerary)
    assert all(r.interpreter_id == li.pk and r.interpreter_mode == InterpreterMode.IN_PERSON for r in rows)


def test_a_replan_of_a_confirmed_trip_keeps_its_interpreter(users, trip_case, other_case, hospital, arrival):
    """A re-plan of a booked trip may name the interpreter the trip it replaces has at the same times (only one
    of the two takes place); once it is confirmed, the replaced trip's hold on her is gone."""
    fang = interpreter(hospital)
    first = services.plan_case(users["coordinator"], trip_case, inputs(arrival))
    services.confirm_itinerary(users["coordinator"], first)
    again = services.plan_case(users["coordinator"], trip_case, inputs(arrival))
    assert {r.interpreter_id for r in visits(again)} == {fang.pk}
    assert {r.interpreter_id for r in visits(first)} == {fang.pk}  # the booked trip keeps her meanwhile
    assert not trip_case.events.filter(kind="interpreter_changed").exists()
    services.confirm_itinerary(users["coordinator"], again)
    first.refresh_from_db()
    assert first.status == ItineraryStatus.REVOKED
    # Another patient planned now at those times is not kept from her by the replaced trip.
    other = services.plan_case(users["coordinator"], other_case, inputs(arrival))
    held = [(r.day, minutes(r.starts_at), minutes(r.ends_at)) for r in visits(again)]
    for row in visits(other):
        if row.interpreter_id == fang.pk:
            assert all(row.day != d or minutes(row.ends_at) <= b or e <= minutes(row.starts_at) for d, b, e in held)

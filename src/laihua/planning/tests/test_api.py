import datetime

import pytest

from laihua.accounts.services import create_api_token
from laihua.capacity import services as capacity
from laihua.capacity.models import Booking
from laihua.planning.models import ItemKind, Itinerary

pytestmark = pytest.mark.django_db

API = "/api/planning"


def auth(user):
    return {"HTTP_AUTHORIZATION": f"Bearer {create_api_token(user, user, 'test')[1]}"}


def post_plan(client, user, case, **body):
    return client.post(f"{API}/cases/{case.reference}/plan", body, content_type="application/json", **auth(user))


def window(arrival, **extra):
    return {
        "earliest_arrival": arrival.isoformat(),
        "latest_departure": (arrival + datetime.timedelta(days=20)).isoformat(),
        "stay_limit": 30,
        "visits_per_day": 3,
        **extra,
    }


def test_plan_read_confirm_over_the_api(client, users, trip_case, arrival):
    response = post_plan(client, users["coordinator"], trip_case, **window(arrival))
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["feasible"] and body["status"] == "draft" and body["stay_days"] == 4 and body["bound_days"] == 4
    assert [i["service"] for i in body["items"] if i["kind"] == "visit"][0] == "CON-ORTH"
    current = client.get(f"{API}/cases/{trip_case.reference}/itinerary", **auth(users["patient"]))
    assert current.status_code == 200 and current.json()["id"] == body["id"]
    confirmed = client.post(f"{API}/itineraries/{body['id']}/confirm", **auth(users["coordinator"]))
    assert confirmed.status_code == 200 and confirmed.json()["status"] == "active"
    assert all(i["booked"] for i in confirmed.json()["items"] if i["service"] in ("CON-ORTH", "RAD-MRI"))


def test_an_infeasible_plan_gives_the_reason_in_words(client, users, trip_case, arrival):
    body = post_plan(client, users["coordinator"], trip_case, **window(arrival, stay_limit=2)).json()
    assert not body["feasible"]
    assert body["reasons"][0]["code"] == "stay_limit"
    assert "limit by 2 day" in body["reasons"][0]["text"]
    assert body["nearest"]["stay_days"] == 4


def test_bad_input_names_the_field(client, users, trip_case, arrival):
    response = post_plan(client, users["coordinator"], trip_case, **window(arrival, visits_per_day=0))
    assert response.status_code == 422 and response.json()["field"] == "visits_per_day"
    response = post_plan(
        client, users["coordinator"], trip_case, **window(arrival, orders=[{"before": "X", "after": "RAD-MRI"}])
    )
    assert response.status_code == 422 and response.json()["field"] == "orders"
    assert not Itinerary.objects.exists()


def test_confirm_answers_409_with_the_replanned_itinerary_when_a_place_was_taken(
    client, users, trip_case, other_case, arrival, knee
):
    body = post_plan(client, users["coordinator"], trip_case, **window(arrival)).json()
    surgery = next(i for i in body["items"] if i["service"] == "ORTH-ARTHRO" and i["kind"] == ItemKind.VISIT)
    day = datetime.date.fromisoformat(surgery["day"])
    capacity.book_service(users["coordinator"], other_case, knee["items"][3], day, idempotency_key="rival")
    response = client.post(f"{API}/itineraries/{body['id']}/confirm", **auth(users["coordinator"]))
    assert response.status_code == 409
    answer = response.json()
    assert answer["error"] == "place_taken" and answer["itinerary"]["id"] != body["id"]
    assert not Booking.objects.filter(case=trip_case).exists()


def test_refusals(client, users, trip_case, other_case, arrival, other_patient):
    # other hospital: 404; patient and clinician may not plan: 403; no token: 401
    assert post_plan(client, users["other_coordinator"], trip_case, **window(arrival)).status_code == 404
    assert post_plan(client, users["patient"], trip_case, **window(arrival)).status_code == 403
    assert post_plan(client, users["clinician"], trip_case, **window(arrival)).status_code == 403
    assert (
        client.post(f"{API}/cases/{trip_case.reference}/plan", {}, content_type="application/json").status_code == 401
    )
    body = post_plan(client, users["coordinator"], trip_case, **window(arrival)).json()
    pk = body["id"]
    for user in (users["other_coordinator"], other_patient.user, users["insurer_agent"]):
        assert client.get(f"{API}/itineraries/{pk}", **auth(user)).status_code == 404
        assert client.get(f"{API}/itineraries/{pk}/ics", **auth(user)).status_code == 404
        assert client.get(f"{API}/itineraries/{pk}/pdf", **auth(user)).status_code == 404
        assert client.post(f"{API}/itineraries/{pk}/confirm", **auth(user)).status_code == 404
    assert client.get(f"{API}/cases/{trip_case.reference}/itinerary", **auth(other_patient.user)).status_code == 404
    # the patient reads and downloads, but may not confirm
    assert client.post(f"{API}/itineraries/{pk}/confirm", **auth(users["patient"])).status_code == 403
    ics = client.get(f"{API}/itineraries/{pk}/ics", **auth(users["patient"]))
    assert ics.status_code == 200 and ics["Content-Type"].startswith("text/calendar")
    assert b"BEGIN:VEVENT" in ics.content
    pdf = client.get(f"{API}/itineraries/{pk}/pdf", **auth(users["patient"]))
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert not Booking.objects.exists()

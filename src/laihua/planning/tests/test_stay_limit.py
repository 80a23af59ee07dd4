"""A plan or re-plan that leaves after the patient's permitted stay is refused, naming the limit and the way
to extend it; the confirmed trip is the booked trip that the entry check, the letter and the GOP follow."""

import datetime

import pytest
from django.urls import reverse

from laihua.planning import services
from laihua.planning.models import Itinerary
from laihua.travel import services as travel
from laihua.travel.models import Stay

from .conftest import inputs

pytestmark = pytest.mark.django_db


def test_a_plan_past_the_visas_own_stay_is_refused_and_nothing_is_kept(users, trip_case, arrival):
    Stay.objects.create(case=trip_case, entry_route="visa", visa_stay_days=3)
    with pytest.raises(travel.StayLimitExceeded) as refused:
        services.plan_case(users["coordinator"], trip_case, inputs(arrival, stay_limit=30))
    assert refused.value.field == "stay_limit" and "3 days from the entry" in str(refused.value.message)
    assert "extension of the stay on the visa" in str(refused.value.message).lower()
    assert not Itinerary.objects.exists()
    Stay.objects.filter(case=trip_case).update(visa_stay_days=10)
    assert services.plan_case(users["coordinator"], trip_case, inputs(arrival, stay_limit=30)).feasible


def test_a_re_plan_counts_from_the_day_the_patient_landed(users, trip_case, arrival):
    """Already in China since the flight landed: the plan's own later arrival does not restart the count."""
    landed = arrival - datetime.timedelta(days=8)
    travel.save_flight(
        users["coordinator"],
        trip_case,
        {
            "direction": "in",
            "number": "UA857",
            "from_airport": "SFO",
            "departs": f"{landed - datetime.timedelta(days=1)}T11:15",
            "to_airport": "PVG",
            "arrives": f"{landed}T16:05",
        },
    )
    Stay.objects.filter(case=trip_case).update(entry_route="visa", visa_stay_days=10)
    with pytest.raises(travel.StayLimitExceeded) as refused:
        services.plan_case(users["coordinator"], trip_case, inputs(arrival, stay_limit=30))
    assert "from the entry on" in str(refused.value.message)


def test_the_planner_page_and_api_show_the_refusal_on_the_stay_limit(client, users, trip_case, arrival):
    Stay.objects.create(case=trip_case, entry_route="visa", visa_stay_days=2)
    client.force_login(users["coordinator"])
    answer = client.post(
        f"/api/planning/cases/{trip_case.reference}/plan",
        inputs(arrival, stay_limit=30),
        content_type="application/json",
    )
    assert answer.status_code == 422
    body = answer.json()
    assert body["error"] == "stay_limit_exceeded" and body["field"] == "stay_limit" and "exit-entry" in body["detail"]
    page = client.post(reverse("planning:plan", args=[trip_case.reference]), inputs(arrival, stay_limit=30))
    assert page.status_code == 422 and 'id="plan-error"' in page.content.decode()


def test_the_confirmed_trip_is_the_booked_trip(users, trip_case, arrival):
    itinerary = services.plan_case(users["coordinator"], trip_case, inputs(arrival))
    assert travel.trip_dates(trip_case).arrival_from == "desired"  # a draft books nothing
    services.confirm_itinerary(users["coordinator"], itinerary)
    dates = travel.trip_dates(trip_case)
    assert (dates.arrival, dates.departure, dates.booked) == (itinerary.arrival, itinerary.departure, True)
    assert travel.entry_guidance(trip_case).departure == itinerary.departure

"""Bookings outside the trip, re-planning on the arrival day, what a patient may fetch, and bad input."""

import datetime

import pytest

from laihua.capacity import services as capacity
from laihua.capacity.models import Booking, BookingStatus
from laihua.errors import Conflict, InvalidInput, NotFound
from laihua.kit import clock
from laihua.planning import services
from laihua.planning.models import ItemKind, ItineraryStatus
from laihua.planning.services import PlaceTaken

from .conftest import inputs

pytestmark = pytest.mark.django_db


def plan(users, case, arrival, **extra):
    return services.plan_case(users["coordinator"], case, inputs(arrival, **extra))


def mri_day(itinerary):
    return itinerary.items.get(kind=ItemKind.VISIT, item__code="RAD-MRI").day


def test_a_booking_made_outside_the_trip_takes_its_place_and_is_not_booked_twice(users, trip_case, arrival, knee):
    mri = knee["items"][2]
    first = mri_day(plan(users, trip_case, arrival))
    # The desk books the MRI by hand on that day; the trip planned afterwards plans it too.
    capacity.book_service(users["coordinator"], trip_case, mri, first, idempotency_key="by-hand")
    itinerary = plan(users, trip_case, arrival)
    with pytest.raises(Conflict) as refused:
        services.confirm_itinerary(users["coordinator"], itinerary)
    assert "RAD-MRI" in str(refused.value.message) and refused.value.field == "itinerary"
    assert Booking.objects.filter(case=trip_case, status=BookingStatus.BOOKED).count() == 1
    # Cancelled, the trip books the MRI once.
    capacity.cancel_booking(users["coordinator"], Booking.objects.get(case=trip_case))
    itinerary = plan(users, trip_case, arrival)
    services.confirm_itinerary(users["coordinator"], itinerary)
    assert Booking.objects.filter(case=trip_case, status=BookingStatus.BOOKED, item=mri).count() == 1


def test_a_full_day_booked_outside_the_trip_is_not_planned_as_free(users, trip_case, other_case, arrival, knee):
    mri = knee["items"][2]
    first = mri_day(plan(users, trip_case, arrival))
    capacity.book_service(users["coordinator"], trip_case, mri, first, idempotency_key="by-hand")
    capacity.book_service(users["coordinator"], other_case, mri, first, idempotency_key="rival")
    assert mri_day(plan(users, trip_case, arrival)) != first  # the day is full: no endless re-planning


def test_a_place_taken_on_the_arrival_day_plans_again_from_tomorrow(
    users, trip_case, other_case, arrival, knee, monkeypatch
):
    itinerary = plan(users, trip_case, arrival)
    surgery = itinerary.items.get(kind=ItemKind.VISIT, item__code="ORTH-ARTHRO")
    capacity.book_service(users["coordinator"], other_case, knee["items"][3], surgery.day, idempotency_key="rival")
    monkeypatch.setattr(clock, "today", lambda: itinerary.arrival)  # the patient lands today
    with pytest.raises(PlaceTaken) as taken:
        services.confirm_itinerary(users["coordinator"], itinerary)
    replanned = taken.value.itinerary
    assert replanned.feasible and replanned.earliest_arrival == itinerary.arrival + datetime.timedelta(days=1)


def test_a_patient_cannot_fetch_a_re_plan_while_the_trip_is_booked(users, trip_case, arrival):
    booked = plan(users, trip_case, arrival)
    services.confirm_itinerary(users["coordinator"], booked)
    draft = plan(users, trip_case, arrival + datetime.timedelta(days=2))
    patient = users["patient"]
    with pytest.raises(NotFound):
        services.get_itinerary(patient, draft.pk)
    assert services.get_itinerary(patient, booked.pk) == booked
    assert services.get_itinerary(users["coordinator"], draft.pk) == draft
    services.confirm_itinerary(users["coordinator"], draft)
    assert services.get_itinerary(patient, draft.pk).status == ItineraryStatus.ACTIVE


def test_every_calendar_event_carries_the_hospital_address(users, trip_case, arrival):
    itinerary = plan(users, trip_case, arrival)
    text = services.itinerary_ics(users["coordinator"], itinerary).decode().replace("\r\n ", "")
    events = text.split("BEGIN:VEVENT")[1:]
    assert len(events) == itinerary.items.count()
    assert all("LOCATION:East Demo Hospital" in event for event in events)


def test_an_arrival_years_ahead_is_refused_naming_the_field(users, trip_case, arrival):
    far = clock.today() + datetime.timedelta(days=services.MAX_DAYS_AHEAD + 1)
    with pytest.raises(InvalidInput) as refused:
        plan(users, trip_case, far, latest_departure="")
    assert refused.value.field == "earliest_arrival"
    assert not trip_case.itineraries.exists()


def test_a_garbled_order_count_on_the_plan_form_is_no_server_error(client, users, trip_case, arrival):
    client.force_login(users["coordinator"])
    response = client.post(
        f"/en/planning/cases/{trip_case.reference}/plan/",
        {**inputs(arrival), "order_count": "abc"},
    )
    assert response.status_code in (302, 422)

"""Re-confirming a booked trip beside a waitlist, the booked trip beside a new plan, documents in the
patient's reading language, cancelled calendar events, and no plan past the last bookable day."""

import datetime

import pytest
from django.urls import reverse

from laihua.capacity import services as capacity
from laihua.capacity.models import Booking, BookingStatus, WaitlistEntry
from laihua.planning import services
from laihua.planning.models import ItemKind, ItineraryStatus
from tests.builders import make_case

from .conftest import inputs

pytestmark = pytest.mark.django_db


def plan(users, case, arrival, **extra):
    return services.plan_case(users["coordinator"], case, inputs(arrival, **extra))


def test_re_confirming_a_booked_trip_keeps_its_places_before_the_waitlist_gets_them(
    users, trip_case, other_patient, hospital, knee, arrival
):
    coordinator = users["coordinator"]
    booked = plan(users, trip_case, arrival)
    services.confirm_itinerary(coordinator, booked)
    mri_day = booked.items.get(kind=ItemKind.VISIT, item__code="RAD-MRI").day
    mri = knee["items"][2]
    # The MRI's other international place that day goes to another case; a third one waits for a place.
    rival = make_case(other_patient, hospital, state="accepted", services=[mri])
    capacity.book_service(coordinator, rival, mri, mri_day, idempotency_key="rival")
    waiting = make_case(other_patient, hospital, state="accepted", services=[mri])
    entry = capacity.join_waitlist(coordinator, waiting, mri, mri_day)
    again = plan(users, trip_case, arrival)
    assert again.items.get(kind=ItemKind.VISIT, item__code="RAD-MRI").day == mri_day  # its own place counts
    services.confirm_itinerary(coordinator, again)
    again.refresh_from_db()
    assert again.status == ItineraryStatus.ACTIVE
    assert Booking.objects.get(case=trip_case, item=mri, status=BookingStatus.BOOKED).day == mri_day
    assert WaitlistEntry.objects.get(pk=entry.pk).status == "waiting"
    # What the new trip leaves free still goes to the waitlist at once.
    later = plan(users, trip_case, arrival + datetime.timedelta(days=5))
    services.confirm_itinerary(coordinator, later)
    assert WaitlistEntry.objects.get(pk=entry.pk).status == "booked"


def test_the_desk_still_sees_the_booked_trip_when_a_new_plan_fits_nothing(client, users, trip_case, arrival):
    booked = plan(users, trip_case, arrival)
    services.confirm_itinerary(users["coordinator"], booked)
    plan(users, trip_case, arrival, stay_limit=2)  # fits nothing
    client.force_login(users["coordinator"])
    page = client.get(reverse("planning:case", args=[trip_case.reference])).content.decode()
    assert 'id="no-plan"' in page and 'id="booked-trip"' in page
    assert reverse("planning:pdf", args=[booked.pk]) in page


def test_the_patient_gets_documents_in_the_language_they_read_the_site_in(client, users, trip_case, arrival):
    assert trip_case.language != "zh-hans"
    itinerary = plan(users, trip_case, arrival)
    services.confirm_itinerary(users["coordinator"], itinerary)
    calendar = services.itinerary_ics(users["patient"], itinerary, reading="zh-hans").decode()
    desk = services.itinerary_ics(users["coordinator"], itinerary, reading="zh-hans").decode()
    assert "膝关节磁共振" in calendar and "MRI of the knee" in desk
    client.force_login(users["patient"])
    response = client.get(f"/zh-hans{reverse('planning:ics', args=[itinerary.pk])[3:]}")
    assert response.status_code == 200 and "膝关节磁共振" in response.content.decode()
    api = client.get(f"/api/planning/itineraries/{itinerary.pk}/ics", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert api.status_code == 200 and "膝关节磁共振" in api.content.decode()


def test_events_a_re_plan_drops_are_sent_as_cancelled(users, trip_case, knee, arrival):
    from laihua.quotes.models import QuoteLine

    coordinator = users["coordinator"]
    first = plan(users, trip_case, arrival)
    services.confirm_itinerary(coordinator, first)
    QuoteLine.objects.filter(quote__case=trip_case, code="LAB-CBC").delete()  # the blood count is dropped
    second = plan(users, trip_case, arrival)
    services.confirm_itinerary(coordinator, second)
    old = services.itinerary_ics(coordinator, first).decode()
    new = services.itinerary_ics(coordinator, second).decode()
    old_uids = {line for line in old.split("\r\n") if line.startswith("UID:")}
    new_events = new.split("BEGIN:VEVENT")[1:]
    cancelled = [event for event in new_events if "STATUS:CANCELLED" in event]
    assert cancelled, "the dropped inpatient day is cancelled"
    assert len(cancelled) == 1 and "Blood count" in cancelled[0]
    assert all(next(x for x in e.split("\r\n") if x.startswith("UID:")) in old_uids for e in cancelled)
    assert all("SEQUENCE:1" in event for event in new_events)


def test_no_plan_reaches_past_the_last_bookable_day(users, trip_case):
    arrival = capacity.last_bookable_day() - datetime.timedelta(days=2)
    itinerary = services.plan_case(users["coordinator"], trip_case, inputs(arrival, latest_departure=""))
    days = [row.day for row in itinerary.items.filter(kind=ItemKind.VISIT)]
    assert all(day <= capacity.last_bookable_day() for day in days)
    # The knee trip's second bed-day would fall after the last bookable day: no plan, rather than one
    # that confirming would refuse.
    assert not itinerary.feasible
    earlier = services.plan_case(
        users["coordinator"], trip_case, inputs(arrival - datetime.timedelta(days=10), latest_departure="")
    )
    assert earlier.feasible
    assert max(row.day for row in earlier.items.filter(kind=ItemKind.VISIT)) <= capacity.last_bookable_day()
    services.confirm_itinerary(users["coordinator"], earlier)

import datetime

import pytest
from django.utils import translation

from laihua.audit.models import AuditEvent
from laihua.capacity import services as capacity
from laihua.capacity.models import Booking, BookingStatus, CapacityDay, IntlUsage
from laihua.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from laihua.planning import services
from laihua.planning.models import ItemKind, ItineraryStatus
from laihua.planning.services import PlaceTaken

from .conftest import inputs

pytestmark = pytest.mark.django_db


def plan(users, case, arrival, who="coordinator", **extra):
    return services.plan_case(users[who], case, inputs(arrival, **extra))


def test_plan_gathers_the_accepted_services_orders_and_quota_and_keeps_a_draft(users, trip_case, arrival, knee):
    itinerary = plan(users, trip_case, arrival)
    assert itinerary.feasible and itinerary.status == ItineraryStatus.DRAFT and itinerary.method == "cpsat"
    visits = {row.item.code: row for row in itinerary.items.filter(kind=ItemKind.VISIT)}
    assert set(visits) == {"CON-ORTH", "LAB-CBC", "RAD-MRI", "ORTH-ARTHRO"}
    # consultation, bloods and MRI on the first day after arrival; surgery the day after; 2 days in hospital
    first = arrival + datetime.timedelta(days=1)
    assert visits["CON-ORTH"].day == visits["RAD-MRI"].day == visits["LAB-CBC"].day == first
    assert visits["ORTH-ARTHRO"].day == first + datetime.timedelta(days=1)
    assert itinerary.arrival == arrival and itinerary.departure == first + datetime.timedelta(days=3)
    assert itinerary.stay_days == itinerary.bound_days == 4
    assert visits["LAB-CBC"].starts_at < datetime.time(12)
    assert visits["CON-ORTH"].starts_at < visits["LAB-CBC"].starts_at  # the order within the day
    assert itinerary.items.filter(kind=ItemKind.STAY).count() == 1
    assert AuditEvent.objects.filter(action="planning.plan").count() == 1
    # a re-plan replaces the draft
    again = plan(users, trip_case, arrival)
    itinerary.refresh_from_db()
    assert itinerary.status == ItineraryStatus.REVOKED and again.status == ItineraryStatus.DRAFT


def test_remaining_quota_is_cap_minus_booked_and_closed_days_have_none(users, trip_case, other_case, arrival, knee):
    mri = knee["items"][2]
    first = arrival + datetime.timedelta(days=1)
    # 2 international MRI places a day: fill the first day, close the next
    for n in range(2):
        capacity.book_service(users["coordinator"], other_case, mri, first, idempotency_key=f"fill-{n}")
    CapacityDay.objects.create(resource=knee["mri"], day=first + datetime.timedelta(days=1), closed=True)
    itinerary = plan(users, trip_case, arrival)
    row = itinerary.items.get(kind=ItemKind.VISIT, item=mri)
    assert row.day == first + datetime.timedelta(days=2)
    # CP-SAT comes later rather than waiting; the earliest-slot plan consults on the first day and waits
    assert itinerary.arrival == first + datetime.timedelta(days=1)
    assert itinerary.greedy_stay_days > itinerary.stay_days


def test_visa_limit_infeasible_names_the_limit_and_keeps_the_nearest_plan(users, trip_case, arrival):
    itinerary = plan(users, trip_case, arrival, stay_limit=2)
    assert not itinerary.feasible and itinerary.items.count() == 0
    assert itinerary.reasons[0]["code"] == "stay_limit"
    assert services.reason_text(itinerary.reasons[0]) == "the stay would exceed the 2-day limit by 2 day(s)"
    assert itinerary.nearest["stay_days"] == 4


def test_full_quota_names_the_resource_and_the_day(users, trip_case, other_case, arrival, knee):
    theatre = knee["theatre"]
    for k in range(25):
        CapacityDay.objects.create(resource=theatre, day=arrival + datetime.timedelta(days=k), closed=True)
    itinerary = plan(users, trip_case, arrival)
    assert not itinerary.feasible
    reason = itinerary.reasons[0]
    until = arrival + datetime.timedelta(days=25)
    assert reason["code"] == "quota"
    assert (reason["params"]["resource"], reason["params"]["until"]) == ("THEATRE", until.isoformat())
    assert services.reason_text(reason) == f"THEATRE quota full until {until.day} {until:%B %Y}"
    # Shown in Chinese, it names the theatre by its Chinese name and the day as Chinese writes it.
    with translation.override("zh-hans"):
        text = services.reason_text(reason)
    assert "theatre" in text and f"{until.year}年{until.month}月{until.day}日" in text and "THEATRE" not in text


def test_bad_inputs_name_the_field_and_save_nothing(users, trip_case, arrival):
    with pytest.raises(InvalidInput) as error:
        plan(users, trip_case, arrival, latest_departure=arrival.isoformat())
    assert error.value.field == "latest_departure"
    with pytest.raises(InvalidInput) as error:
        plan(users, trip_case, arrival, visits_per_day=0)
    assert error.value.field == "visits_per_day"
    with pytest.raises(InvalidInput) as error:
        plan(users, trip_case, arrival, orders=[{"before": "NOPE", "after": "RAD-MRI", "min": 0}])
    assert error.value.field == "orders"
    assert not trip_case.itineraries.exists()


def test_coordinator_adjusts_an_order_for_the_case_and_the_next_plan_keeps_it(users, trip_case, arrival):
    orders = services.plan_inputs(users["coordinator"], trip_case)["orders"]
    for order in orders:
        if order["after"] == "ORTH-ARTHRO" and order["before"] == "RAD-MRI":
            order["min"] = 3
    itinerary = plan(users, trip_case, arrival, orders=orders)
    days = {row.item.code: row.day for row in itinerary.items.filter(kind=ItemKind.VISIT)}
    assert (days["ORTH-ARTHRO"] - days["RAD-MRI"]).days == 3
    assert services.plan_inputs(users["coordinator"], trip_case)["orders"] == itinerary.orders


def test_only_the_hospitals_desk_plans(users, trip_case, arrival):
    for who in ("other_coordinator", "clinician", "patient", "finance"):
        with pytest.raises(PermissionDenied):
            plan(users, trip_case, arrival, who=who)


def test_confirm_books_every_service_and_schedules_the_case(users, trip_case, arrival, knee):
    itinerary = plan(users, trip_case, arrival)
    services.confirm_itinerary(users["coordinator"], itinerary)
    itinerary.refresh_from_db()
    trip_case.refresh_from_db()
    assert itinerary.status == ItineraryStatus.ACTIVE and trip_case.state == "scheduled"
    assert services.current_itinerary(users["patient"], trip_case) == itinerary
    booked = Booking.objects.filter(case=trip_case, status=BookingStatus.BOOKED)
    # consult, MRI, 2 theatre hours on one day, 2 bed-days (the bloods use no counted resource)
    assert {(b.resource.code, b.units) for b in booked} == {("clinics", 1), ("mri", 1), ("theatre", 2), ("beds", 1)}
    assert booked.count() == 5
    visits = itinerary.items.filter(kind=ItemKind.VISIT)
    assert visits.filter(booking_request__isnull=False).count() == 3
    # re-planning a confirmed trip, then confirming, moves the bookings (the old ones are given back)
    again = plan(users, trip_case, arrival + datetime.timedelta(days=3))
    # until the new plan is confirmed, the patient keeps seeing the booked trip; the desk sees the new plan
    assert services.current_itinerary(users["patient"], trip_case) == itinerary
    assert services.current_itinerary(users["coordinator"], trip_case) == again
    services.confirm_itinerary(users["coordinator"], again)
    assert services.current_itinerary(users["patient"], trip_case) == again
    itinerary.refresh_from_db()
    assert itinerary.status == ItineraryStatus.REVOKED
    assert Booking.objects.filter(case=trip_case, status=BookingStatus.BOOKED).count() == 5
    assert min(b.day for b in Booking.objects.filter(case=trip_case, status=BookingStatus.BOOKED)) > arrival + (
        datetime.timedelta(days=3)
    )


def test_confirm_is_all_or_nothing_when_a_place_was_taken_meanwhile(users, trip_case, other_case, arrival, knee):
    itinerary = plan(users, trip_case, arrival)
    surgery = itinerary.items.get(kind=ItemKind.VISIT, item__code="ORTH-ARTHRO")
    # another case takes the last theatre hours of the surgery day (3 international theatre hours a day)
    capacity.book_service(users["coordinator"], other_case, knee["items"][3], surgery.day, idempotency_key="rival")
    with pytest.raises(PlaceTaken) as error:
        services.confirm_itinerary(users["coordinator"], itinerary)
    assert not Booking.objects.filter(case=trip_case).exists()
    assert IntlUsage.objects.filter(resource=knee["clinic"], booked_units__gt=0).count() == 0
    itinerary.refresh_from_db()
    trip_case.refresh_from_db()
    assert itinerary.status == ItineraryStatus.REVOKED and trip_case.state == "accepted"
    replanned = error.value.itinerary
    assert replanned.status == ItineraryStatus.DRAFT and replanned.feasible
    assert replanned.items.get(kind=ItemKind.VISIT, item__code="ORTH-ARTHRO").day != surgery.day
    assert AuditEvent.objects.filter(action="planning.confirm_failed").count() == 1
    services.confirm_itinerary(users["coordinator"], replanned)
    assert Booking.objects.filter(case=trip_case, status=BookingStatus.BOOKED).count() == 5


def test_an_infeasible_or_replaced_itinerary_cannot_be_confirmed(users, trip_case, arrival):
    infeasible = plan(users, trip_case, arrival, stay_limit=2)
    with pytest.raises(Conflict):
        services.confirm_itinerary(users["coordinator"], infeasible)


def test_who_sees_an_itinerary(users, trip_case, other_case, arrival, other_patient):
    itinerary = plan(users, trip_case, arrival)
    assert services.get_itinerary(users["patient"], itinerary.pk) == itinerary
    assert services.get_itinerary(users["clinician"], itinerary.pk) == itinerary
    for who in ("other_coordinator", "other_admin", "insurer_agent", "platform_admin"):
        with pytest.raises(NotFound):
            services.get_itinerary(users[who], itinerary.pk)
    with pytest.raises(NotFound):
        services.get_itinerary(other_patient.user, itinerary.pk)
    with pytest.raises(NotFound):
        services.current_itinerary(other_patient.user, trip_case)
    # a patient never sees a plan that does not fit
    failed = plan(users, trip_case, arrival, stay_limit=2)
    with pytest.raises(NotFound):
        services.get_itinerary(users["patient"], failed.pk)


def test_ics_has_crlf_folded_lines_uids_and_the_hospital_address(users, trip_case, arrival, hospital):
    hospital.address = {"en": "1 Demo Road, Huangpu District, Shanghai; Gate 3", "zh-hans": "示范路1号"}
    hospital.save()
    itinerary = plan(users, trip_case, arrival)
    body = services.itinerary_ics(users["patient"], itinerary).decode("utf-8")
    assert body.startswith("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n") and body.endswith("END:VCALENDAR\r\n")
    assert "\n" not in body.replace("\r\n", "")
    assert all(len(line.encode("utf-8")) <= 75 for line in body.split("\r\n"))
    unfolded = body.replace("\r\n ", "")
    assert unfolded.count("BEGIN:VEVENT") == itinerary.items.count()
    uids = [line for line in unfolded.split("\r\n") if line.startswith("UID:")]
    assert len(uids) == len(set(uids)) == itinerary.items.count()
    assert "SEQUENCE:0" in unfolded
    assert "DTSTAMP:" in unfolded
    assert "LOCATION:East Demo Hospital\\, 1 Demo Road\\, Huangpu District\\, Shanghai\\; Gate 3" in unfolded
    mri = itinerary.items.get(item__code="RAD-MRI")
    start = datetime.datetime.combine(mri.day, mri.starts_at) - datetime.timedelta(hours=8)  # Shanghai is UTC+8
    assert f"DTSTART:{start:%Y%m%dT%H%M%S}Z" in unfolded
    assert AuditEvent.objects.filter(action="planning.itinerary.ics").count() == 1
    # a re-plan keeps the UIDs (the calendar moves the events) with a higher sequence
    again = plan(users, trip_case, arrival + datetime.timedelta(days=2))
    body = services.itinerary_ics(users["patient"], again).decode("utf-8").replace("\r\n ", "")
    assert [line for line in body.split("\r\n") if line.startswith("UID:")] == uids
    assert "SEQUENCE:1" in body and "SEQUENCE:0" not in body


def test_pdf_lists_the_days_in_the_patients_language(users, trip_case, arrival):
    from io import BytesIO

    from pypdf import PdfReader

    itinerary = plan(users, trip_case, arrival)
    text = "".join(
        page.extract_text() for page in PdfReader(BytesIO(services.itinerary_pdf(users["patient"], itinerary))).pages
    )
    assert trip_case.reference in text
    assert "MRI of the knee" in text and "Knee arthroscopy" in text
    trip_case.language = "zh-hans"
    trip_case.save()
    text = "".join(
        page.extract_text() for page in PdfReader(BytesIO(services.itinerary_pdf(users["patient"], itinerary))).pages
    )
    assert "膝关节磁共振" in text


def test_the_patient_hears_when_the_trip_is_booked_and_when_it_changes_in_their_language(
    users, trip_case, arrival, mailoutbox, django_capture_on_commit_callbacks
):
    trip_case.language = "zh-hans"
    trip_case.save(update_fields=["language"])
    itinerary = plan(users, trip_case, arrival)
    with django_capture_on_commit_callbacks(execute=True):
        services.confirm_itinerary(users["coordinator"], itinerary)
    booked = [m for m in mailoutbox if m.to == [users["patient"].email]]
    assert len(booked) == 1
    assert "行程已预订" in booked[0].subject and itinerary.arrival.isoformat() in booked[0].body
    assert f"/zh-hans/planning/cases/{trip_case.reference}/" in booked[0].body
    mailoutbox.clear()
    again = plan(users, trip_case, arrival + datetime.timedelta(days=3))
    assert mailoutbox == []  # a draft re-plan tells the patient nothing yet
    with django_capture_on_commit_callbacks(execute=True):
        services.confirm_itinerary(users["coordinator"], again)
    assert len(mailoutbox) == 1 and "行程有变" in mailoutbox[0].subject
    assert again.departure.isoformat() in mailoutbox[0].body

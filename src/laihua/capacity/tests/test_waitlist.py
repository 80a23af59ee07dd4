import datetime
import io

import pytest

from laihua.capacity import services
from laihua.capacity.models import Booking, WaitlistEntry
from laihua.capacity.services import QuotaFull
from laihua.errors import PermissionDenied
from tests.builders import make_case

pytestmark = pytest.mark.django_db


@pytest.fixture
def one_place(users, scanner, accepted, mri, day):
    """One international place a day, taken on `day`."""
    services.set_capacity(users["hospital_admin"], scanner, None, 10)
    return services.book_service(users["coordinator"], accepted, mri, day, idempotency_key="first")[0]


def test_a_freed_place_goes_to_the_first_on_the_waitlist(users, patient, hospital, mri, scanner, day, one_place):
    coordinator = users["coordinator"]
    first = make_case(patient, hospital, state="accepted", services=[mri])
    second = make_case(patient, hospital, state="scheduled", services=[mri])
    entry1 = services.join_waitlist(coordinator, first, mri, day)
    entry2 = services.join_waitlist(coordinator, second, mri, day)
    services.cancel_booking(coordinator, one_place)
    entry1.refresh_from_db()
    entry2.refresh_from_db()
    assert (entry1.status, entry2.status) == ("booked", "waiting")
    assert Booking.objects.get(case=first, status="booked").day == day
    assert services.booked_units(scanner, day) == 1
    # Nobody jumps the queue: the place is gone.
    with pytest.raises(QuotaFull):
        services.book_service(coordinator, second, mri, day, idempotency_key="jump")


def test_raising_capacity_gives_the_new_place_to_the_waitlist(users, patient, hospital, mri, scanner, day, one_place):
    waiting = make_case(patient, hospital, state="accepted", services=[mri])
    entry = services.join_waitlist(users["coordinator"], waiting, mri, day)
    services.set_capacity(users["hospital_admin"], scanner, day, 20)
    entry.refresh_from_db()
    assert entry.status == "booked" and services.booked_units(scanner, day) == 2


def test_a_withdrawn_entry_is_not_booked(users, patient, hospital, mri, scanner, day, one_place):
    waiting = make_case(patient, hospital, state="accepted", services=[mri])
    entry = services.leave_waitlist(
        users["coordinator"], services.join_waitlist(users["coordinator"], waiting, mri, day)
    )
    services.cancel_booking(users["coordinator"], one_place)
    assert WaitlistEntry.objects.get(pk=entry.pk).status == "withdrawn"
    assert services.booked_units(scanner, day) == 0


def test_other_hospitals_staff_may_not_use_the_waitlist(users, accepted, mri, day):
    with pytest.raises(PermissionDenied):
        services.join_waitlist(users["other_coordinator"], accepted, mri, day)
    with pytest.raises(PermissionDenied):
        services.join_waitlist(users["patient"], accepted, mri, day)
    with pytest.raises(PermissionDenied):
        services.waitlist_of(users["other_coordinator"], accepted.hospital)
    assert not WaitlistEntry.objects.exists()


def test_joining_twice_keeps_one_entry(users, accepted, mri, day):
    services.join_waitlist(users["coordinator"], accepted, mri, day)
    services.join_waitlist(users["coordinator"], accepted, mri, day + datetime.timedelta(days=0))
    assert WaitlistEntry.objects.count() == 1


def test_a_csv_capacity_increase_gives_the_new_place_to_the_waitlist(
    users, patient, hospital, mri, scanner, day, one_place
):
    from laihua.audit.models import AuditEvent

    waiting = make_case(patient, hospital, state="accepted", services=[mri])
    entry = services.join_waitlist(users["coordinator"], waiting, mri, day)
    text = f"resource_code,day,capacity,closed,note\nmri-1,{day},20,no,More sessions\n"
    result = services.import_capacity_csv(users["hospital_admin"], hospital, text)
    assert result["rows"] == 1 and result["over_cap"] == []
    entry.refresh_from_db()
    assert entry.status == "booked" and entry.request is not None
    assert Booking.objects.get(case=waiting, status="booked").day == day
    assert services.booked_units(scanner, day) == 2
    assert AuditEvent.objects.filter(action="capacity.waitlist_book").count() == 1


def test_a_csv_increase_serves_a_waiting_service_that_also_takes_other_resources(users, patient, hospital, hip, day):
    """The freed bed goes to a waiting hip replacement, which takes theatre hours as well: the import locks
    the theatre's counters too (before changing anything), so the place is really handed over."""
    from laihua.capacity.models import IntlUsage, ServiceUsage
    from tests.builders import make_item

    item, theatre, beds = hip
    coordinator = users["coordinator"]
    ward = make_item(hospital, code="WARD-01", kind="inpatient_day", en="Ward day", zh="住院日")
    ServiceUsage.objects.create(item=ward, resource=beds, units=1)
    case = make_case(patient, hospital, state="accepted", services=[ward, item])
    for n in range(2):  # 20 beds at 10%: both international beds of the day are taken
        services.book_service(coordinator, case, ward, day, idempotency_key=f"ward-{n}")
    entry = services.join_waitlist(coordinator, case, item, day)
    assert entry.status == "waiting"
    text = f"resource_code,day,capacity,closed,note\nbeds-ortho,{day},30,no,\n"
    services.import_capacity_csv(users["hospital_admin"], hospital, text)
    entry.refresh_from_db()
    assert entry.status == "booked"
    assert services.booked_units(beds, day) == 3 and services.booked_units(theatre, day) == 3
    assert IntlUsage.objects.get(resource=theatre, period="day", day=day).booked_units == 3


def test_a_csv_that_lowers_capacity_hands_nothing_to_the_waitlist(
    users, patient, hospital, mri, scanner, day, one_place
):
    waiting = make_case(patient, hospital, state="accepted", services=[mri])
    entry = services.join_waitlist(users["coordinator"], waiting, mri, day)
    text = f"resource_code,day,capacity,closed,note\nmri-1,{day},0,yes,Holiday\n"
    result = services.import_capacity_csv(users["hospital_admin"], hospital, text)
    entry.refresh_from_db()
    assert entry.status == "waiting"
    assert [(o.day, o.booked, o.cap) for o in result["over_cap"]] == [(day, 1, 0)]


def test_reactivating_a_resource_gives_its_free_places_to_the_waitlist(
    users, patient, hospital, mri, scanner, day, one_place
):
    coordinator, admin = users["coordinator"], users["hospital_admin"]
    waiting = make_case(patient, hospital, state="accepted", services=[mri])
    entry = services.join_waitlist(coordinator, waiting, mri, day)
    services.update_resource(admin, scanner, active=False)
    services.cancel_booking(coordinator, one_place)
    # An inactive scanner takes no booking, from the waitlist either.
    entry.refresh_from_db()
    assert entry.status == "waiting" and services.booked_units(scanner, day) == 0
    services.update_resource(admin, scanner, active=True)
    entry.refresh_from_db()
    assert entry.status == "booked" and services.booked_units(scanner, day) == 1
    assert Booking.objects.get(case=waiting, status="booked").resource == scanner
    # Saving it active again hands out nothing twice.
    services.update_resource(admin, scanner, active=True, opening_hours="08:00-20:00")
    assert services.booked_units(scanner, day) == 1


def test_the_waitlist_job_books_a_place_left_free_once_however_often_it_runs(
    users, patient, hospital, other_hospital, mri, scanner, day, one_place
):
    """An entry joined while a place was still free (no cancellation will come to hand it over): the periodic
    job books it, once; the other hospital's entries are not its business."""
    from django.core.management import call_command

    from laihua.jobs.tasks import offer_waitlist

    services.set_capacity(users["hospital_admin"], scanner, day, 20)  # a second place, nobody waiting yet
    waiting = make_case(patient, hospital, state="accepted", services=[mri])
    entry = services.join_waitlist(users["coordinator"], waiting, mri, day)
    assert services.booked_units(scanner, day) == 1
    assert offer_waitlist.delay().get() == [f"{waiting.reference} {mri.code} {day.isoformat()}"]
    assert offer_waitlist.delay().get() == []
    call_command("capacity", "offer-waitlist", stdout=io.StringIO(), stderr=io.StringIO())
    entry.refresh_from_db()
    assert entry.status == "booked" and services.booked_units(scanner, day) == 2
    assert Booking.objects.filter(case=waiting, status="booked").count() == 1


def test_the_waitlist_job_books_nothing_when_no_place_is_free(users, patient, hospital, mri, scanner, day, one_place):
    waiting = make_case(patient, hospital, state="accepted", services=[mri])
    entry = services.join_waitlist(users["coordinator"], waiting, mri, day)
    assert services.offer_waiting_places() == []
    entry.refresh_from_db()
    assert entry.status == "waiting" and services.booked_units(scanner, day) == 1

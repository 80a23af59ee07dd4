"""The monthly roll-up follows the bookings: hand-counted figures after bookings and a cancellation, and
(Hypothesis) the rows equal a plain recount after any sequence of bookings and cancellations."""

import calendar
import contextlib
import datetime
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from laihua.capacity import services as capacity
from laihua.capacity.models import Booking, BookingStatus, Resource, ServiceUsage
from laihua.capacity.services import QuotaFull
from laihua.fairness.models import CATEGORY_OF_KIND, MonthlyUse, Refresh
from laihua.fairness.services import rollup
from laihua.kit import clock
from tests.builders import make_case, make_item, make_patient, make_user

pytestmark = pytest.mark.django_db


def make_resource(hospital, code, kind, unit, daily_capacity, share=Decimal("0.10")):
    return Resource.objects.create(
        hospital=hospital,
        code=code,
        kind=kind,
        unit=unit,
        name={"en": code, "zh-hans": code},
        daily_capacity=daily_capacity,
        intl_share=share,
    )


@pytest.fixture
def month():
    """The first day of next month: every day of it can be booked."""
    return (clock.today().replace(day=28) + datetime.timedelta(days=4)).replace(day=1)


@pytest.fixture
def setup(users, hospital, mri):
    scanner = make_resource(hospital, "mri-1", "mri", "slot", 100)
    theatre = make_resource(hospital, "theatre-1", "theatre", "theatre_hour", 30)
    beds = make_resource(hospital, "beds-1", "bed", "bed_day", 20)
    ServiceUsage.objects.create(item=mri, resource=scanner, units=1)
    hip = make_item(hospital, code="HIP-01", kind="procedure", en="Hip", zh="髋", department="orthopaedics")
    ServiceUsage.objects.create(item=hip, resource=theatre, units=3)
    ServiceUsage.objects.create(item=hip, resource=beds, units=1, days=7)
    cases = []
    for n in range(12):
        user = make_user(f"patient-{n}", "patient")
        cases.append(make_case(make_patient(user, passport_number=f"P{n:07d}"), hospital, state="accepted"))
    return {"mri": mri, "hip": hip, "cases": cases, "coordinator": users["coordinator"], "hospital": hospital}


def rows(hospital, month):
    """The roll-up as the report reads it: the months waiting for a recount are recounted first."""
    rollup.recount_pending()
    return {
        row.category: (row.used, row.capacity, row.cap, row.patients)
        for row in MonthlyUse.objects.filter(hospital=hospital, month=month)
    }


def test_bookings_and_a_cancellation_counted_by_hand(setup, month, django_capture_on_commit_callbacks):
    coordinator, cases = setup["coordinator"], setup["cases"]
    days = calendar.monthrange(month.year, month.month)[1]
    with django_capture_on_commit_callbacks(execute=True):
        made = [
            capacity.book_service(
                coordinator, case, setup["mri"], month + datetime.timedelta(days=n), idempotency_key=f"m{n}"
            )
            for n, case in enumerate(cases)
        ]
        # One patient has two scans: still one patient.
        capacity.book_service(
            coordinator, cases[0], setup["mri"], month + datetime.timedelta(days=20), idempotency_key="m-again"
        )
        capacity.cancel_booking(coordinator, made[11][0])
        capacity.book_service(
            coordinator, cases[1], setup["hip"], month + datetime.timedelta(days=3), idempotency_key="h1"
        )
    figures = rows(setup["hospital"], month)
    assert figures["imaging"] == (12, 100 * days, 10 * days, 11)
    assert figures["theatre_time"] == (3, 30 * days, 3 * days, 1)
    assert figures["bed_days"] == (7, 20 * days, 2 * days, 1)
    assert "outpatient_visits" not in figures  # the hospital has no clinic resource


def test_the_job_recounts_what_the_bookings_left(setup, month, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        capacity.book_service(setup["coordinator"], setup["cases"][0], setup["mri"], month, idempotency_key="a")
    before = rows(setup["hospital"], month)
    MonthlyUse.objects.all().delete()
    call_command("fairness", "refresh", "--month", month.strftime("%Y-%m"), "--skip-prices")
    assert rows(setup["hospital"], month) == before
    assert Refresh.objects.filter(kind="use").count() == 1


def recount(hospital, month):
    """A plain recount from the booking rows and the resources' usual capacity."""
    days = calendar.monthrange(month.year, month.month)[1]
    result = {}
    for resource in Resource.objects.filter(hospital=hospital, active=True):
        category = CATEGORY_OF_KIND[resource.kind]
        used, capacity_units, cap, patients = result.get(category, (0, 0, 0, set()))
        month_capacity = resource.daily_capacity * days
        result[category] = (
            used,
            capacity_units + month_capacity,
            cap + int(month_capacity * resource.intl_share),
            patients,
        )
    for booking in Booking.objects.filter(resource__hospital=hospital, status=BookingStatus.BOOKED).select_related(
        "resource", "case"
    ):
        if booking.day.replace(day=1) != month:
            continue
        category = CATEGORY_OF_KIND[booking.resource.kind]
        used, capacity_units, cap, patients = result[category]
        result[category] = (used + booking.units, capacity_units, cap, patients | {booking.case.patient_id})
    return {category: (u, c, k, len(p)) for category, (u, c, k, p) in result.items()}


class Rollback(Exception):
    pass


operations = st.lists(
    st.one_of(
        st.tuples(st.just("book"), st.sampled_from(["mri", "hip"]), st.integers(0, 11), st.integers(0, 27)),
        st.tuples(st.just("cancel"), st.integers(0, 50)),
    ),
    max_size=25,
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=operations)
def test_the_roll_up_equals_a_recount_after_any_bookings(setup, month, django_capture_on_commit_callbacks, ops):
    coordinator, hospital = setup["coordinator"], setup["hospital"]
    try:
        with transaction.atomic():
            with django_capture_on_commit_callbacks(execute=True):
                for n, op in enumerate(ops):
                    if op[0] == "book":
                        start = month + datetime.timedelta(days=op[3])
                        with contextlib.suppress(QuotaFull):
                            capacity.book_service(
                                coordinator, setup["cases"][op[2]], setup[op[1]], start, idempotency_key=f"k{n}"
                            )
                    else:
                        active = list(Booking.objects.filter(status=BookingStatus.BOOKED).order_by("pk"))
                        if active:
                            capacity.cancel_booking(coordinator, active[op[1] % len(active)])
            if ops:
                rollup.refresh_months(hospital.pk, [])  # nothing to do: no month given
                rollup.recount_pending()
                touched = set(MonthlyUse.objects.filter(hospital=hospital).values_list("month", flat=True))
                for each in touched:
                    assert rows(hospital, each) == recount(hospital, each)
                if any(op[0] == "book" for op in ops) and Booking.objects.exists():
                    assert touched
            raise Rollback
    except Rollback:
        pass


def test_a_waiting_recount_takes_the_bookings_of_its_month_and_the_job_clears_its_mark(
    setup, month, django_capture_on_commit_callbacks, settings
):
    """A booking's recount is a job, one per hospital and month while one waits: with a mark already set (a job
    queued and not started), a booking queues nothing more; the job, when it runs, clears the mark and counts
    every booking of the month, so the next booking queues a recount again."""
    from django.core.cache import cache

    from laihua.jobs.tasks import _recount_key, recount_fairness_months

    settings.CELERY_TASK_ALWAYS_EAGER = False  # as with a broker: the booking queues, a worker runs
    settings.CACHE_URL = "redis://marks.invalid"  # workers and servers share the cache of marks
    queued = []
    coordinator, cases, hospital = setup["coordinator"], setup["cases"], setup["hospital"]
    key = _recount_key(hospital.pk, month)
    cache.set(key, 1, timeout=600)  # a recount of the month is queued and waits for a worker
    original = recount_fairness_months.apply_async
    recount_fairness_months.apply_async = lambda args=None, **kw: queued.append(args)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            capacity.book_service(coordinator, cases[0], setup["mri"], month, idempotency_key="w1")
            capacity.book_service(coordinator, cases[1], setup["mri"], month, idempotency_key="w2")
        assert queued == [] and cache.get(key) == 1  # the waiting job takes them
        assert "imaging" not in _stored(hospital, month)  # nothing recounted in the requests

        assert recount_fairness_months.apply(args=[hospital.pk, [month.isoformat()]]).get(disable_sync_subtasks=False)
        assert cache.get(key) is None
        assert _stored(hospital, month)["imaging"][0] == 2 and _stored(hospital, month)["imaging"][3] == 2

        with django_capture_on_commit_callbacks(execute=True):
            capacity.book_service(coordinator, cases[2], setup["mri"], month, idempotency_key="w3")
        assert queued == [[hospital.pk, [month.isoformat()]]] and cache.get(key) == 1  # no mark: a job queued
    finally:
        recount_fairness_months.apply_async = original


def _stored(hospital, month):
    """The roll-up's rows as stored, without recounting what waits."""
    return {
        row.category: (row.used, row.capacity, row.cap, row.patients)
        for row in MonthlyUse.objects.filter(hospital=hospital, month=month)
    }


def test_without_a_broker_a_burst_of_bookings_waits_for_one_recount_at_the_next_read(
    setup, month, django_capture_on_commit_callbacks, django_assert_max_num_queries
):
    """No job runs in the request: each booking marks its month (one statement after the commit) and the next
    read of the report recounts each marked month once, leaving no mark behind."""
    from laihua.fairness.models import PendingRecount
    from laihua.fairness.services import report

    coordinator, cases, hospital = setup["coordinator"], setup["cases"], setup["hospital"]
    with django_capture_on_commit_callbacks(execute=True):
        for n in range(4):
            capacity.book_service(coordinator, cases[n], setup["mri"], month, idempotency_key=f"b{n}")
    assert _stored(hospital, month) == {}
    assert list(PendingRecount.objects.values_list("hospital_id", "month", "version")) == [(hospital.pk, month, 4)]
    with django_capture_on_commit_callbacks(execute=True):
        [booking] = capacity.book_service(coordinator, cases[5], setup["mri"], month, idempotency_key="b5")
        capacity.cancel_booking(coordinator, booking)
    assert PendingRecount.objects.get().version == 6

    report.month_report(month)
    assert _stored(hospital, month)["imaging"] == (
        4,
        100 * calendar.monthrange(month.year, month.month)[1],
        10 * calendar.monthrange(month.year, month.month)[1],
        4,
    )
    assert not PendingRecount.objects.exists()
    with django_assert_max_num_queries(1):
        rollup.recount_pending()  # nothing waits: one read


def test_a_month_changed_during_its_recount_keeps_waiting(setup, month, django_capture_on_commit_callbacks):
    """The recount removes a month's mark only if no booking moved its version on meanwhile."""
    from laihua.fairness.models import PendingRecount

    coordinator, cases, hospital = setup["coordinator"], setup["cases"], setup["hospital"]
    with django_capture_on_commit_callbacks(execute=True):
        capacity.book_service(coordinator, cases[0], setup["mri"], month, idempotency_key="c0")
    original = rollup.refresh_months

    def refresh_while_booking(hospital_id, months):
        written = original(hospital_id, months)
        with django_capture_on_commit_callbacks(execute=True):  # a booking commits after the recount read
            capacity.book_service(coordinator, cases[1], setup["mri"], month, idempotency_key="c1")
        return written

    rollup.refresh_months = refresh_while_booking
    try:
        rollup.recount_pending()
    finally:
        rollup.refresh_months = original
    assert _stored(hospital, month)["imaging"][0] == 1
    assert PendingRecount.objects.get().version == 2  # still waiting
    assert rows(hospital, month)["imaging"][0] == 2 and not PendingRecount.objects.exists()

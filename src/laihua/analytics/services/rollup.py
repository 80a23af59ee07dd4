"""Rebuilding a hospital's monthly roll-ups from its cases, quotes, invoices and payments.

The refresh job (`laihua analytics refresh`) rebuilds every hospital whose data changed since its last
refresh; each hospital is rebuilt in one transaction, so a page reads either the old figures or the new
ones, never half of each. A hospital's rebuild reads its own rows only, and pages never count cases
themselves."""

import datetime
from collections import defaultdict
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Min
from django.utils import timezone

from laihua.analytics.models import AMOUNTS, COUNTS, CubeMonth, HospitalMonth, RefreshState
from laihua.analytics.services import snapshots
from laihua.billing.models import VOID_STATUSES, Invoice, Payer, Payment, PaymentKind
from laihua.cases.models import Case, CaseEvent
from laihua.cases.states import State
from laihua.hospitals.models import Hospital
from laihua.kit import clock
from laihua.quotes.models import Quote

# A transaction that began before a refresh may commit after it with earlier timestamps: a hospital counts
# as changed when anything of it changed since its last refresh started, less this margin.
CHANGE_MARGIN = datetime.timedelta(minutes=10)
ZERO = Decimal("0.00")


def month_of(value) -> datetime.date:
    """The first day of the month of a date, or of a moment in the site's time zone."""
    if isinstance(value, datetime.datetime):
        value = timezone.localtime(value).date()
    return value.replace(day=1)


def local_day(moment: datetime.datetime) -> datetime.date:
    return timezone.localtime(moment).date()


class _Cell:
    """The figures of one roll-up row being built."""

    __slots__ = ("counts", "amounts", "histograms", "payment_days")

    def __init__(self):
        self.counts = dict.fromkeys(COUNTS, 0)
        self.amounts = dict.fromkeys(AMOUNTS, ZERO)
        self.histograms = {"response_minutes": {}, "quote_days": {}, "arrival_days": {}, "stay_days": {}}
        self.payment_days = {}

    def note(self, histogram: str, value: int) -> None:
        key = str(value)
        bins = self.histograms[histogram]
        bins[key] = bins.get(key, 0) + 1

    def note_payment(self, insurer: str, days: int) -> None:
        bins = self.payment_days.setdefault(insurer, {})
        bins[str(days)] = bins.get(str(days), 0) + 1

    def fields(self) -> dict:
        return {**self.counts, **self.amounts, **self.histograms, "payment_days": self.payment_days}


class _Builder:
    """Adds each event to its month's row and to its month's row of the case's country, department and
    service."""

    def __init__(self, dims: dict[int, tuple[str, int | None, int | None]]):
        self.dims = dims
        self.months: dict[datetime.date, _Cell] = defaultdict(_Cell)
        self.cube: dict[tuple, _Cell] = defaultdict(_Cell)

    def cells(self, case_id: int, month: datetime.date):
        return self.months[month], self.cube[(month, *self.dims[case_id])]

    def count(self, case_id: int, month: datetime.date, field: str) -> None:
        for cell in self.cells(case_id, month):
            cell.counts[field] += 1

    def add(self, case_id: int, month: datetime.date, field: str, amount: Decimal) -> None:
        for cell in self.cells(case_id, month):
            cell.amounts[field] += amount

    def note(self, case_id: int, month: datetime.date, histogram: str, value: int) -> None:
        for cell in self.cells(case_id, month):
            cell.note(histogram, value)

    def note_payment(self, case_id: int, month: datetime.date, insurer: str, days: int) -> None:
        for cell in self.cells(case_id, month):
            cell.note_payment(insurer, days)


def _whole(delta: datetime.timedelta, unit: int) -> int:
    return max(int(delta.total_seconds() // unit), 0)


def build(hospital: Hospital) -> tuple[dict, dict, int]:
    """The hospital's roll-up rows from scratch: ({month: fields}, {(month, country, department, service):
    fields}, number of cases)."""
    cases = list(
        Case.objects.filter(hospital=hospital).values_list(
            "pk", "created_at", "first_response_at", "patient__nationality", "department_id"
        )
    )
    first_service = dict(
        Case.services.through.objects.filter(case__hospital=hospital)
        .values("case_id")
        .annotate(first=Min("catalogitem_id"))
        .values_list("case_id", "first")
    )
    dims = {pk: (country or "", department, first_service.get(pk)) for pk, _c, _r, country, department in cases}
    opened = {pk: created for pk, created, *_rest in cases}
    builder = _Builder(dims)
    target = datetime.timedelta(hours=settings.LAIHUA_FIRST_RESPONSE_HOURS)
    for pk, created, responded, *_rest in cases:
        month = month_of(created)
        builder.count(pk, month, "inquiries")
        if responded is not None:
            builder.count(pk, month, "responses")
            if responded - created <= target:
                builder.count(pk, month, "responses_on_time")
            builder.note(pk, month, "response_minutes", _whole(responded - created, 60))

    quotes = Quote.objects.filter(case__hospital=hospital)
    for case_id, sent in (
        quotes.filter(sent_at__isnull=False)
        .values("case_id")
        .annotate(first=Min("sent_at"))
        .values_list("case_id", "first")
    ):
        builder.count(case_id, month_of(sent), "quotes")
        builder.note(case_id, month_of(sent), "quote_days", _whole(sent - opened[case_id], 86400))
    for case_id, accepted in (
        quotes.filter(accepted_at__isnull=False)
        .values("case_id")
        .annotate(first=Min("accepted_at"))
        .values_list("case_id", "first")
    ):
        builder.count(case_id, month_of(accepted), "acceptances")

    moves = (
        CaseEvent.objects.filter(case__hospital=hospital, to_state__in=[State.ARRIVED, State.DISCHARGED])
        .values("case_id", "to_state")
        .annotate(first=Min("at"))
        .values_list("case_id", "to_state", "first")
    )
    arrived, discharged = {}, {}
    for case_id, to_state, at in moves:
        (arrived if to_state == State.ARRIVED else discharged)[case_id] = at
    for case_id, at in arrived.items():
        builder.count(case_id, month_of(at), "arrivals")
        builder.note(case_id, month_of(at), "arrival_days", _whole(at - opened[case_id], 86400))
    for case_id, at in discharged.items():
        builder.count(case_id, month_of(at), "discharges")
        if case_id in arrived:
            builder.note(case_id, month_of(at), "stay_days", max((local_day(at) - local_day(arrived[case_id])).days, 0))

    invoices = (
        Invoice.objects.filter(hospital=hospital, issue_date__isnull=False)
        .exclude(status__in=VOID_STATUSES)
        .values_list("case_id", "issue_date", "total_cny", "patient_cny", "insurer_cny")
    )
    for case_id, issued, total, patient, insurer in invoices:
        month = month_of(issued)
        builder.add(case_id, month, "invoiced_cny", total)
        builder.add(case_id, month, "invoiced_self_pay_cny", patient)
        builder.add(case_id, month, "invoiced_insurer_cny", insurer)

    payments = Payment.objects.filter(hospital=hospital).values_list(
        "invoice__case_id",
        "payer",
        "kind",
        "settled_cny",
        "received_on",
        "invoice__issue_date",
        "invoice__insurer_name",
    )
    for case_id, payer, kind, settled, received, issued, insurer in payments:
        month = month_of(received)
        amount = -settled if kind == PaymentKind.REFUND else settled
        builder.add(case_id, month, "collected_cny", amount)
        part = "collected_insurer_cny" if payer == Payer.INSURER else "collected_self_pay_cny"
        builder.add(case_id, month, part, amount)
        if payer == Payer.INSURER and kind != PaymentKind.REFUND and issued is not None:
            builder.note_payment(case_id, month, insurer or "—", max((received - issued).days, 0))

    months = {month: cell.fields() for month, cell in builder.months.items()}
    cube = {key: cell.fields() for key, cell in builder.cube.items()}
    return months, cube, len(cases)


def refresh(hospital: Hospital) -> RefreshState:
    """Rebuild the hospital's roll-ups in one transaction and note when."""
    started = clock.now()
    months, cube, count = build(hospital)
    with transaction.atomic():
        Hospital.objects.select_for_update().filter(pk=hospital.pk).values_list("pk", flat=True).first()
        HospitalMonth.objects.filter(hospital=hospital).delete()
        CubeMonth.objects.filter(hospital=hospital).delete()
        HospitalMonth.objects.bulk_create(
            [HospitalMonth(hospital=hospital, month=month, **fields) for month, fields in months.items()],
            batch_size=500,
        )
        CubeMonth.objects.bulk_create(
            [
                CubeMonth(hospital=hospital, month=month, country=country, department_id=dep, service_id=svc, **fields)
                for (month, country, dep, svc), fields in cube.items()
            ],
            batch_size=1000,
        )
        state, _created = RefreshState.objects.update_or_create(
            hospital=hospital, defaults={"started_at": started, "refreshed_at": clock.now(), "cases": count}
        )
    snapshots.snapshot_hospital(hospital)
    return state


def changed_since(hospital: Hospital, moment: datetime.datetime) -> bool:
    """Whether anything the roll-ups count changed at the hospital since the moment."""
    return (
        Case.objects.filter(hospital=hospital, updated_at__gte=moment).exists()
        or CaseEvent.objects.filter(case__hospital=hospital, at__gte=moment).exists()
        or Quote.objects.filter(case__hospital=hospital, updated_at__gte=moment).exists()
        or Invoice.objects.filter(hospital=hospital, updated_at__gte=moment).exists()
        or Payment.objects.filter(hospital=hospital, recorded_at__gte=moment).exists()
    )


def stale_hospitals() -> list[Hospital]:
    """The hospitals never refreshed, or changed since their last refresh began (less the margin)."""
    states = {state.hospital_id: state for state in RefreshState.objects.all()}
    out = []
    for hospital in Hospital.objects.order_by("slug"):
        state = states.get(hospital.pk)
        if state is None or changed_since(hospital, state.started_at - CHANGE_MARGIN):
            out.append(hospital)
    return out


def refresh_all(*, only_changed: bool = True, hospitals=None) -> list[RefreshState]:
    """Rebuild the roll-ups of the given hospitals, or of every hospital that changed (or of all)."""
    if hospitals is None:
        hospitals = stale_hospitals() if only_changed else list(Hospital.objects.order_by("slug"))
    states = [refresh(hospital) for hospital in hospitals]
    snapshots.renew_old_snapshots(hospitals)
    return states

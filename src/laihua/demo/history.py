"""About 18 months of fictional history at the demo hospitals (history.yaml), so that the fairness report,
the real prices and the utilisation dashboard show something on first open.

Generated with a seeded random generator from the compact spec, counting days back from the load day: the
same seed on the same day gives the same history. Written through the domain models in bulk (a few
thousand rows: the demo still loads in seconds): patients and their accounts (which cannot sign in), cases
in every state with their services, quotes, bookings within the international quota of every day and
month (the quota's counters are raised to match, alongside the demo's own bookings), and the statements,
payments and write-offs of the cases that were treated. Loaded once: a second load finds the history's
patients and adds nothing. Then the fairness roll-up and the real prices are recounted.
"""

import datetime
import random
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.core.management.color import no_style
from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone

from laihua.accounts.models import Role, User
from laihua.billing.models import Invoice, InvoiceLine, InvoiceSequence, Payment, WriteOff
from laihua.capacity.models import Booking, BookingRequest, BookingStatus, IntlUsage, Resource, ServiceUsage
from laihua.capacity.services import Capacities, month_start
from laihua.cases.models import Case
from laihua.cases.states import State
from laihua.catalog.models import CatalogItem, Price
from laihua.demo import datafiles
from laihua.demo.hospitals import HOSPITALS, SERVICES
from laihua.fairness.services import real_prices, rollup
from laihua.hospitals.models import Hospital
from laihua.kit import clock
from laihua.patients.models import Patient
from laihua.quotes.models import Quote, QuoteLine

SPEC = datafiles.read("history")
# The history's patients: accounts that cannot sign in, recognised by both (loader.holds_real_data).
USERNAME_PREFIX = "demo-history-"
EMAIL_DOMAIN = "history.demo.example"
FEN = Decimal("0.01")


def _check_references() -> None:
    codes = [service.code for service in SERVICES]
    hospitals = [spec.code for spec in HOSPITALS]
    for code in SPEC["hospitals"]:
        datafiles.require("history", ["hospitals", code], code, hospitals)
    for n, journey in enumerate(SPEC["journeys"]):
        for m, code in enumerate(journey["services"]):
            datafiles.require("history", ["journeys", n, "services", m], code, codes)
    datafiles.require("history", ["charges", "extra_service"], SPEC["charges"]["extra_service"], codes)


_check_references()


def is_history_user(user_or_username) -> bool:
    username = getattr(user_or_username, "username", user_or_username)
    return str(username).startswith(USERNAME_PREFIX)


def history_users():
    return User.objects.filter(username__startswith=USERNAME_PREFIX, email__endswith="@" + EMAIL_DOMAIN)


def _day_time(day: datetime.date, hour: int, minute: int = 0) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour, minute)))


def _fen(value) -> Decimal:
    return Decimal(value).quantize(FEN, rounding=ROUND_HALF_UP)


@dataclass
class Story:
    """One case's fate and days, decided before anything is written."""

    created: datetime.date
    journey: dict
    outcome: str  # ahead, declined, expired, cancelled
    arrival: datetime.date
    follow_up: bool
    plans: list = field(default_factory=list)  # [(item, start day, {(resource id, day): units})]

    def end(self) -> datetime.date:
        days = [day for _item, _start, plan in self.plans for (_r, day) in plan] or [self.arrival]
        return max(max(days), self.arrival + datetime.timedelta(days=len(self.journey["services"]) - 1))

    def state(self, today: datetime.date) -> tuple[str, datetime.date]:
        """The case's state today and the day it got there."""
        t = SPEC["timeline"]
        created = self.created
        triage = created + datetime.timedelta(days=t["triage_after"])
        quote = created + datetime.timedelta(days=t["quote_after"])
        accept = created + datetime.timedelta(days=t["accept_after"])
        steps = [(created, State.INQUIRY), (triage, State.TRIAGE)]
        if self.outcome == "declined":
            steps.append((triage + datetime.timedelta(days=1), State.DECLINED))
        elif self.outcome == "expired":
            steps += [(quote, State.QUOTED), (quote + datetime.timedelta(days=14), State.EXPIRED)]
        else:
            steps += [(quote, State.QUOTED), (accept, State.ACCEPTED)]
            if self.outcome == "cancelled":
                steps.append((accept + datetime.timedelta(days=3), State.CANCELLED))
            else:
                end = self.end()
                discharged = end + datetime.timedelta(days=1)
                steps += [
                    (self.arrival - datetime.timedelta(days=t["schedule_before_arrival"]), State.SCHEDULED),
                    (self.arrival, State.ARRIVED),
                    (self.arrival + datetime.timedelta(days=1), State.IN_TREATMENT),
                    (discharged, State.DISCHARGED),
                ]
                if self.follow_up:
                    steps.append((discharged + datetime.timedelta(days=3), State.FOLLOW_UP))
                steps.append((discharged + datetime.timedelta(days=t["close_after_discharge"]), State.CLOSED))
        reached = [(day, state) for day, state in steps if day <= today]
        day, state = reached[-1]
        return state, day

    @property
    def accepted_on(self) -> datetime.date:
        return self.created + datetime.timedelta(days=SPEC["timeline"]["accept_after"])


class Quota:
    """The international counters of one hospital's resources, as booked so far (demo bookings included),
    checked against the day and month caps before a history booking takes them."""

    def __init__(self, resources: list[Resource], first: datetime.date, last: datetime.date):
        self.caps = Capacities(resources, first, last)
        self.used: dict[tuple[int, str, datetime.date], int] = defaultdict(int)
        for row in IntlUsage.objects.filter(resource__in=resources):
            self.used[(row.resource_id, row.period, row.day)] = row.booked_units
        self.added: dict[tuple[int, str, datetime.date], int] = defaultdict(int)

    def fits(self, plan: dict) -> bool:
        months: dict = defaultdict(int)
        for (resource_id, day), units in plan.items():
            if not self.caps.first <= day <= self.caps.last.replace(day=28) + datetime.timedelta(days=4):
                return False
            if self.used[(resource_id, IntlUsage.DAY, day)] + units > self.caps.day_cap(resource_id, day):
                return False
            months[(resource_id, month_start(day))] += units
        for (resource_id, first), units in months.items():
            if self.used[(resource_id, IntlUsage.MONTH, first)] + units > self.caps.month_cap(resource_id, first):
                return False
        return True

    def take(self, plan: dict) -> None:
        for (resource_id, day), units in plan.items():
            for key in ((resource_id, IntlUsage.DAY, day), (resource_id, IntlUsage.MONTH, month_start(day))):
                self.used[key] += units
                self.added[key] += units


def _plan(usages: list[ServiceUsage], start: datetime.date) -> dict:
    plan: dict = defaultdict(int)
    for usage in usages:
        for offset in range(usage.day_offset, usage.day_offset + usage.days):
            plan[(usage.resource_id, start + datetime.timedelta(days=offset))] += usage.units
    return dict(plan)


class _Hospital:
    """What the generator needs of one demo hospital, read once."""

    def __init__(self, spec, today: datetime.date, first: datetime.date):
        self.hospital = Hospital.objects.get(slug=spec.slug)
        self.prefix = spec.prefix
        self.items = {
            item.code.removeprefix(spec.prefix + "-"): item
            for item in CatalogItem.objects.filter(hospital=self.hospital, active=True).select_related("department")
        }
        self.prices: dict[int, list[Price]] = defaultdict(list)
        for price in Price.objects.filter(item__hospital=self.hospital).order_by("effective_from"):
            self.prices[price.item_id].append(price)
        self.usages: dict[int, list[ServiceUsage]] = defaultdict(list)
        for usage in ServiceUsage.objects.filter(item__hospital=self.hospital, resource__active=True):
            self.usages[usage.item_id].append(usage)
        resources = list(Resource.objects.filter(hospital=self.hospital, active=True))
        self.quota = Quota(resources, first, today + datetime.timedelta(days=120))
        self.coordinator = User.objects.get(username=f"{spec.code}-coord")
        self.finance = User.objects.get(username=f"{spec.code}-finance")
        self.journeys = [j for j in SPEC["journeys"] if all(code in self.items for code in j["services"])]

    def price_on(self, item: CatalogItem, day: datetime.date) -> Price | None:
        found = None
        for price in self.prices[item.pk]:
            if price.effective_from <= day:
                found = price
        return found or (self.prices[item.pk][0] if self.prices[item.pk] else None)


class Generator:
    def __init__(self, today: datetime.date):
        self.today = today
        self.rng = random.Random(SPEC["seed"])
        self.first = today - datetime.timedelta(days=round(SPEC["months"] * 30.44))
        self.users, self.patients, self.cases, self.stories = [], [], [], []
        self.quotes, self.quote_lines, self.requests, self.bookings = [], [], [], []
        self.invoices, self.lines, self.payments, self.write_offs = [], [], [], []
        self.sequences: dict[tuple[int, int], int] = {}

    # --- stories -----------------------------------------------------------------------------------

    def _outcome(self) -> str:
        drops, r = SPEC["drop_outs"], self.rng.random()
        for outcome in ("declined", "expired", "cancelled"):
            if r < drops[outcome]:
                return outcome
            r -= drops[outcome]
        return "ahead"

    def _story(self, place: _Hospital, created: datetime.date) -> Story:
        journey = self.rng.choices(place.journeys, weights=[j["weight"] for j in place.journeys])[0]
        low, high = SPEC["timeline"]["arrive_after"]
        arrival = created + datetime.timedelta(days=self.rng.randint(low, high))
        story = Story(
            created, journey, self._outcome(), arrival, self.rng.random() < SPEC["timeline"]["follow_up_share"]
        )
        if story.outcome in ("declined", "expired") or story.accepted_on > self.today:
            return story
        for _attempt in range(30):  # the first arrival day from which every service fits the quota
            plans = []
            for n, code in enumerate(journey["services"]):
                item = place.items[code]
                if place.usages[item.pk]:
                    start = story.arrival + datetime.timedelta(days=n)
                    plans.append((item, start, _plan(place.usages[item.pk], start)))
            merged: dict = defaultdict(int)
            for _item, _start, plan in plans:
                for key, units in plan.items():
                    merged[key] += units
            if place.quota.fits(merged):
                if story.outcome == "ahead":
                    place.quota.take(merged)
                story.plans = plans
                return story
            story.arrival += datetime.timedelta(days=1)
        story.outcome = "cancelled"  # no room within a month: the patient went elsewhere
        return story

    # --- rows --------------------------------------------------------------------------------------

    def _patient(self, n: int) -> Patient:
        people = SPEC["patients"]
        nationality = self.rng.choice(sorted(people["nationalities"]))
        family, given = self.rng.choice(people["family_names"]), self.rng.choice(people["given_names"])
        username = f"{USERNAME_PREFIX}{n:05d}"
        user = User(
            username=username,
            role=Role.PATIENT,
            email=f"{username}@{EMAIL_DOMAIN}",
            first_name=given,
            last_name=family,
            preferred_language="en",
            preferred_currency=people["nationalities"][nationality],
        )
        user.set_unusable_password()
        self.users.append(user)
        patient = Patient(
            user=user,
            family_name=family,
            given_names=given,
            sex=self.rng.choice("FM"),
            date_of_birth=datetime.date(self.rng.randint(1945, 2000), self.rng.randint(1, 12), self.rng.randint(1, 28)),
            nationality=nationality,
            passport_number=f"H{self.rng.randint(10_000_000, 99_999_999)}",
            preferred_currency=people["nationalities"][nationality],
            email=user.email,
            languages=["en"],
        )
        self.patients.append(patient)
        return patient

    def _charge(self, place: _Hospital, item: CatalogItem, day: datetime.date) -> Decimal:
        price = place.price_on(item, day)
        if price is None:
            return Decimal("0.00")
        if price.amount_min == price.amount_max:
            return price.amount_min
        steps = int((price.amount_max - price.amount_min) / 10)
        return price.amount_min + 10 * self.rng.randint(0, steps)

    def build(self) -> None:
        n = 0
        for spec in HOSPITALS:
            per_month = SPEC["hospitals"].get(spec.code, 0)
            if not per_month:
                continue
            place = _Hospital(spec, self.today, self.first)
            if not place.journeys:
                continue
            span = (self.today - self.first).days
            days = sorted(
                self.first + datetime.timedelta(days=self.rng.randint(0, span))
                for _ in range(per_month * SPEC["months"])
            )
            for created in days:
                n += 1
                self._case(place, self._story(place, created), n)
            self._counters(place)

    def _case(self, place: _Hospital, story: Story, n: int) -> None:
        patient = self._patient(n)
        state, since = story.state(self.today)
        services = [place.items[code] for code in story.journey["services"]]
        case = Case(
            reference=f"history-{n}",
            patient=patient,
            hospital=place.hospital,
            department=services[0].department,
            state=state,
            coordinator=place.coordinator,
            description=f"{story.journey['key']} (demo history)",
            desired_arrival=story.arrival,
            language="en",
        )
        case.created_at_value = _day_time(story.created, self.rng.randint(8, 20), self.rng.randint(0, 59))
        case.first_response_value = case.created_at_value + datetime.timedelta(hours=self.rng.randint(1, 30))
        case.state_changed_value = _day_time(since, 10)
        case.service_items = services
        self.cases.append(case)
        self.stories.append((place, story, case))

    def _quote(self, place: _Hospital, story: Story, case: Case) -> Quote | None:
        quoted = story.created + datetime.timedelta(days=SPEC["timeline"]["quote_after"])
        if quoted > self.today or story.outcome == "declined":
            return None
        if story.outcome == "expired":
            status = "expired" if case.state == State.EXPIRED else "sent"
        elif case.state in (State.QUOTED,):
            status = "sent"
        else:
            status = "accepted"
        quote = Quote(
            case=case,
            revision=1,
            number=f"{case.reference}-Q1",
            status=status,
            quote_date=quoted,
            valid_until=quoted + datetime.timedelta(days=14),
            currency="CNY",
            language="en",
            created_by=place.coordinator,
            sent_by=place.coordinator,
            sent_at=_day_time(quoted, 11),
            accepted_at=_day_time(story.accepted_on, 15) if status == "accepted" else None,
            accepted_by=case.patient.user if status == "accepted" else None,
            expired_at=_day_time(quoted + datetime.timedelta(days=14), 0) if status == "expired" else None,
        )
        total = Decimal("0.00")
        for position, item in enumerate(case.service_items, start=1):
            price = place.price_on(item, quoted)
            amount = price.amount_max if price else Decimal("0.00")
            total += amount
            self.quote_lines.append(
                QuoteLine(
                    quote=quote,
                    position=position,
                    item=item,
                    package=item.kind == "package",
                    code=item.code,
                    description=item.name,
                    quantity=1,
                    catalog_price_min=price.amount_min if price else None,
                    catalog_price_max=price.amount_max if price else None,
                    catalog_price_from=price.effective_from if price else None,
                    unit_price_cny=amount,
                    gross_cny=amount,
                    amount_cny=amount,
                )
            )
        quote.total_cny = total
        quote.deposit_cny = _fen(total * SPEC["charges"]["deposit_percent"] / 100)
        self.quotes.append(quote)
        return quote

    def _book(self, place: _Hospital, story: Story, case: Case) -> None:
        if story.outcome not in ("ahead", "cancelled") or story.accepted_on > self.today:
            return
        for item, start, plan in story.plans:
            request = BookingRequest(
                hospital=place.hospital,
                idempotency_key=f"history-{case.reference}-{item.code}",
                case=case,
                item=item,
                start_day=start,
                created_by=place.coordinator,
            )
            self.requests.append(request)
            cancelled = story.outcome == "cancelled"
            for (resource_id, day), units in sorted(plan.items(), key=lambda entry: (entry[0][1], entry[0][0])):
                self.bookings.append(
                    Booking(
                        request=request,
                        case=case,
                        item=item,
                        resource_id=resource_id,
                        day=day,
                        units=units,
                        status=BookingStatus.CANCELLED if cancelled else BookingStatus.BOOKED,
                        created_by=place.coordinator,
                        cancelled_at=_day_time(story.accepted_on + datetime.timedelta(days=3), 9)
                        if cancelled
                        else None,
                    )
                )

    def _number(self, place: _Hospital, day: datetime.date) -> str:
        key = (place.hospital.pk, day.year)
        if key not in self.sequences:
            sequence = InvoiceSequence.objects.filter(hospital=place.hospital, year=day.year).first()
            self.sequences[key] = sequence.last if sequence else 0
        self.sequences[key] += 1
        return f"{place.hospital.slug.upper()}-{day.year}-{self.sequences[key]:05d}"

    def _bill(self, place: _Hospital, story: Story, case: Case, quote: Quote | None) -> None:
        if case.state not in (State.DISCHARGED, State.FOLLOW_UP, State.CLOSED):
            return
        charges = SPEC["charges"]
        discharged = story.end() + datetime.timedelta(days=1)
        invoice = Invoice(
            case=case,
            hospital=place.hospital,
            number=self._number(place, discharged),
            status="issued" if case.state == State.DISCHARGED else "balanced",
            quote=quote,
            currency="CNY",
            language="en",
            created_by=place.coordinator,
            issued_by=place.finance,
            issued_at=_day_time(discharged, 16),
            issue_date=discharged,
        )
        lines = [(item, self._charge(place, item, story.arrival), "quote") for item in case.service_items]
        if self.rng.random() < charges["extra_share"] and charges["extra_service"] in place.items:
            extra = place.items[charges["extra_service"]]
            lines.append((extra, self._charge(place, extra, story.arrival), "extra"))
        total = Decimal("0.00")
        for position, (item, unit, source) in enumerate(lines, start=1):
            discount = Decimal("0.00")
            percent = None
            if self.rng.random() < charges["discount_share"]:
                percent = Decimal(self.rng.randint(*charges["discount_percent"]))
                discount = _fen(unit * percent / 100)
            amount = unit - discount
            total += amount
            self.lines.append(
                InvoiceLine(
                    invoice=invoice,
                    position=position,
                    source=source,
                    item=item,
                    code=item.code,
                    kind=item.kind,
                    description=item.name,
                    service_date=story.arrival,
                    quantity=1,
                    confirmed=True,
                    unit_price_cny=unit,
                    discount_percent=percent,
                    gross_cny=unit,
                    discount_cny=discount,
                    amount_cny=amount,
                    patient_cny=amount,
                    reason="Added during the stay (demo history)" if source == "extra" else "",
                    discount_reason="Returning patient (demo history)" if percent else "",
                    added_by=place.coordinator,
                )
            )
        invoice.total_cny = invoice.patient_cny = total
        self.invoices.append(invoice)
        deposit = min(_fen(total * charges["deposit_percent"] / 100), total)
        self._pay(place, invoice, "deposit", deposit, story.accepted_on + datetime.timedelta(days=1))
        if invoice.status == "balanced":
            written_off = Decimal("0.00")
            if self.rng.random() < charges["write_off_share"]:
                written_off = _fen((total - deposit) * self.rng.randint(*charges["write_off_percent"]) / 100)
                self.write_offs.append(
                    WriteOff(
                        invoice=invoice,
                        part="patient",
                        amount_cny=written_off,
                        reason="Hardship (demo history)",
                        status="approved",
                        requested_by=place.finance,
                        decided_by=place.finance,
                        decided_at=_day_time(discharged + datetime.timedelta(days=2), 12),
                    )
                )
            self._pay(place, invoice, "balance", total - deposit - written_off, discharged + datetime.timedelta(days=1))

    def _pay(self, place: _Hospital, invoice: Invoice, kind: str, amount: Decimal, day: datetime.date) -> None:
        if amount <= 0:
            return
        reference = f"{invoice.number}-{kind}"
        self.payments.append(
            Payment(
                invoice=invoice,
                hospital=place.hospital,
                kind=kind,
                payer="patient",
                method=self.rng.choice(["card", "bank_transfer", "alipay", "wechat_pay"]),
                reference=reference,
                amount=amount,
                currency="CNY",
                amount_cny=amount,
                settled_cny=amount,
                received_on=min(day, self.today),
                idempotency_key=f"history-{reference}",
                recorded_by=place.finance,
            )
        )

    def _counters(self, place: _Hospital) -> None:
        added = place.quota.added
        existing = {
            (row.resource_id, row.period, row.day): row
            for row in IntlUsage.objects.filter(resource__hospital=place.hospital)
        }
        changed, created = [], []
        for key, units in added.items():
            row = existing.get(key)
            if row is None:
                created.append(IntlUsage(resource_id=key[0], period=key[1], day=key[2], booked_units=units))
            else:
                row.booked_units += units
                changed.append(row)
        IntlUsage.objects.bulk_create(created, batch_size=1000)
        IntlUsage.objects.bulk_update(changed, ["booked_units"], batch_size=1000)

    # --- writing -----------------------------------------------------------------------------------

    def write(self) -> int:
        User.objects.bulk_create(self.users, batch_size=500)
        Patient.objects.bulk_create(self.patients, batch_size=500)
        # The cases get their numbers first, so that their references (LH-<year>-<number>) are written with
        # them, and keep the days they were opened on.
        first = (Case.objects.aggregate(last=Max("pk"))["last"] or 0) + 1
        for number, case in enumerate(self.cases, start=first):
            case.pk = number
            case.created_at = case.created_at_value
            case.first_response_at = case.first_response_value
            case.state_changed_at = case.state_changed_value
            case.reference = f"LH-{timezone.localtime(case.created_at):%Y}-{case.pk:06d}"
        with _as_given(Case, "created_at", "state_changed_at"):
            Case.objects.bulk_create(self.cases, batch_size=500)
        with connection.cursor() as cursor:
            for statement in connection.ops.sequence_reset_sql(no_style(), [Case]):
                cursor.execute(statement)
        Case.services.through.objects.bulk_create(
            [
                Case.services.through(case_id=case.pk, catalogitem_id=item.pk)
                for case in self.cases
                for item in {item.pk: item for item in case.service_items}.values()
            ],
            batch_size=1000,
        )
        for place, story, case in self.stories:
            quote = self._quote(place, story, case)
            self._book(place, story, case)
            self._bill(place, story, case, quote)
        Quote.objects.bulk_create(self.quotes, batch_size=500)
        QuoteLine.objects.bulk_create(self.quote_lines, batch_size=1000)
        BookingRequest.objects.bulk_create(self.requests, batch_size=1000)
        Booking.objects.bulk_create(self.bookings, batch_size=1000)
        Invoice.objects.bulk_create(self.invoices, batch_size=500)
        InvoiceLine.objects.bulk_create(self.lines, batch_size=1000)
        Payment.objects.bulk_create(self.payments, batch_size=1000)
        WriteOff.objects.bulk_create(self.write_offs, batch_size=500)
        for (hospital_id, year), last in self.sequences.items():
            InvoiceSequence.objects.update_or_create(hospital_id=hospital_id, year=year, defaults={"last": last})
        return len(self.cases)


@contextmanager
def _as_given(model, *names):
    """Write these auto_now_add fields as the objects give them (the history's own days), not as now."""
    fields = [model._meta.get_field(name) for name in names]
    for each in fields:
        each.auto_now_add = False
    try:
        yield
    finally:
        for each in fields:
            each.auto_now_add = True


@transaction.atomic
def load() -> int:
    """Generate and write the history once (0 when it is there already), then recount the fairness
    roll-up and the real prices. Returns the number of cases written."""
    if history_users().exists():
        return 0
    generator = Generator(clock.today())
    generator.build()
    written = generator.write()
    rollup.refresh_all()
    real_prices.refresh_real_prices()
    return written

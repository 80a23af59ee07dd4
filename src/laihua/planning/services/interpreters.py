"""Interpreters in trip plans, the Django side: the pool the planner plans with (`gather_pool`), the
assignment kept on each visit (`assignment_fields`), the hospital's pass that re-solves who interprets
every planned visit of the days a new plan touches, all patients at once (`rebalance`), a remote mode
chosen when no one is free (`set_remote`), the days of the trip on which an interpreter would be free for
such a visit (`free_days`: the offer of another day), the shortages by language and month for the hospital admin
(`shortages`), and each interpreter's own day (`interpreter_day`)."""

import datetime
import io

from django.db import transaction
from django.db.models import Count, Q
from django.db.models.functions import TruncMonth
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from laihua.accounts.models import Role
from laihua.accounts.permissions import require_role
from laihua.audit.services import record_event
from laihua.capacity.services import Capacities
from laihua.cases.models import Case
from laihua.cases.services import add_event, require_case_staff, timeline_note
from laihua.errors import InvalidInput, NotFound
from laihua.interpreters.forms import language_name
from laihua.interpreters.services import planning_pool
from laihua.kit import clock
from laihua.kit.csvdata import SafeWriter
from laihua.kit.i18n import pick
from laihua.planning.models import InterpreterMode, ItemKind, ItineraryItem, ItineraryStatus, ServiceRule
from laihua.planning.services.scope import PLANNERS
from laihua.planning.solver import interpreters as model
from laihua.planning.solver.hours import DAY_START, MORNING_END, MOVE_MINUTES, _parse_hours

REMOTE_MODES = (InterpreterMode.VIDEO, InterpreterMode.PHONE)
SHORTAGE_READERS = (Role.HOSPITAL_ADMIN, Role.COORDINATOR)
FREE_DAYS_SHOWN = 3  # the nearest days offered for a visit without an interpreter in person
SLOT_STEP_MINUTES = 15  # the start times tried within the opening hours


def _minutes(moment: datetime.time) -> int:
    return moment.hour * 60 + moment.minute


def patient_language(case: Case) -> str:
    """The language the patient needs an interpreter of: "" when they speak Chinese; else the first of the
    languages on their profile, else the case's language."""
    spoken = [code for code in (case.patient.languages or []) if code]
    if any(not model.needs_interpreter(code) for code in spoken):
        return ""
    language = spoken[0] if spoken else case.language
    return model.base_language(language) if model.needs_interpreter(language) else ""


def solver_interpreter(person, away, busy=None) -> model.Interpreter:
    """One interpreter of the pool as the solver takes them: languages, level, hours, weekdays, days away and,
    where given, what they already do on each day."""
    return model.Interpreter(
        key=str(person.pk),
        languages=frozenset(person.languages),
        level=person.rank,
        hours=((_minutes(person.works_from), _minutes(person.works_until)),),
        weekdays=frozenset(d - 1 for d in person.weekdays),
        absences=frozenset(away),
        busy=busy or {},
    )


def gather_pool(case: Case, first: datetime.date, last: datetime.date) -> tuple[str, tuple]:
    """The patient's language and the hospital's pool as the solver takes it, for the days `first` to
    `last`: each interpreter's hours, weekdays, days away, and what they already do in other cases'
    confirmed trips (a re-plan of this case may move its own)."""
    language = patient_language(case)
    if not language:
        return "", ()
    pool = planning_pool(case.hospital_id, first, last)
    busy: dict[int, dict[datetime.date, list]] = {p.pk: {} for p, _away in pool}
    for pid, day, start, end in (
        ItineraryItem.objects.filter(
            interpreter_id__in=busy,
            itinerary__status=ItineraryStatus.ACTIVE,
            day__range=(first, last),
            starts_at__isnull=False,
            ends_at__isnull=False,
        )
        .exclude(itinerary__case=case)
        .values_list("interpreter_id", "day", "starts_at", "ends_at")
    ):
        busy[pid].setdefault(day, []).append((_minutes(start), _minutes(end)))
    return language, tuple(
        solver_interpreter(p, away, busy={day: tuple(spans) for day, spans in busy[p.pk].items()}) for p, away in pool
    )


def assignment_fields(visit) -> dict:
    """An itinerary entry's interpreter fields from the solver's visit."""
    if not visit.language:
        return {}
    if visit.interpreter:
        return {
            "interpreter_id": int(visit.interpreter),
            "interpreter_language": visit.language,
            "interpreter_mode": InterpreterMode.IN_PERSON,
        }
    return {"interpreter_language": visit.language, "interpreter_mode": InterpreterMode.NONE}


def interpreter_json(row: ItineraryItem) -> dict | None:
    """An entry's interpreter for the API: name and language, or the mode without one; None when none is needed."""
    if not row.interpreter_language:
        return None
    return {
        "name": row.interpreter.name if row.interpreter_id else "",
        "language": row.interpreter_language,
        "mode": row.interpreter_mode,
    }


@transaction.atomic
def set_remote(actor, row_id: int, mode: str) -> ItineraryItem:
    """For a visit no interpreter of the pool is free for: interpret it remotely by video or by phone (the
    coordinator's choice, kept on the entry); "none" takes the choice back."""
    row = (
        ItineraryItem.objects.select_for_update()
        .select_related("itinerary__case")
        .filter(pk=row_id, kind=ItemKind.VISIT)
        .first()
    )
    if row is None:
        raise NotFound(_("No such itinerary entry."))
    case = row.itinerary.case
    if actor is None or not actor.is_authenticated or actor.hospital_id != case.hospital_id:
        raise NotFound(_("No such itinerary entry."))
    require_case_staff(actor, case, PLANNERS)
    if not row.interpreter_language or row.interpreter_id:
        raise InvalidInput(_("This visit has an interpreter in person or needs none."), field="mode")
    if mode not in (*REMOTE_MODES, InterpreterMode.NONE):
        raise InvalidInput(_("Choose video or phone."), field="mode")
    row.interpreter_mode = mode
    row.save(update_fields=["interpreter_mode"])
    record_event(
        actor, "planning.interpreter.remote", case, hospital=case.hospital, detail={"entry": row.pk, "mode": mode}
    )
    return row


# --- another day ----------------------------------------------------------------------------------------


def _clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def free_days(itinerary) -> dict[int, list[dict]]:
    """For each planned visit of the itinerary left without an interpreter in person (remote or not yet
    arranged): the nearest days of the trip (arrival to departure, from today on, not its own day nor a rest
    day of the plan) on which its place is open (its resource has international places that day) and an
    interpreter of the language is free for the visit's length at a time within the opening hours, from
    08:00, a fasting visit before noon, clear of the patient's other visits that day: the earliest such
    time, as {date, start, end} ("HH:MM"), at most FREE_DAYS_SHOWN days, in date order. It does not re-check
    the clinical order, the quota or the visits-a-day limit: re-planning with the day does. By entry id."""
    if not itinerary.feasible or itinerary.arrival is None or itinerary.departure is None:
        return {}
    rows = list(
        itinerary.items.filter(
            kind=ItemKind.VISIT, interpreter__isnull=True, starts_at__isnull=False, ends_at__isnull=False
        )
        .exclude(interpreter_language="")
        .select_related("resource", "item")
        .order_by("day", "starts_at", "pk")
    )
    if not rows:
        return {}
    case = itinerary.case
    first, last = max(itinerary.arrival, clock.today()), itinerary.departure
    if last < first:
        return {row.pk: [] for row in rows}
    _language, pool = gather_pool(case, first, last)
    resources = [row.resource for row in rows if row.resource_id]
    caps = Capacities(resources, first, last) if resources else None
    fasting = set(
        ServiceRule.objects.filter(item_id__in={r.item_id for r in rows}, morning_only=True).values_list(
            "item_id", flat=True
        )
    )
    own: dict[datetime.date, list[tuple[int, int]]] = {}
    for day, start, end in itinerary.items.filter(
        kind=ItemKind.VISIT, starts_at__isnull=False, ends_at__isnull=False
    ).values_list("day", "starts_at", "ends_at"):
        own.setdefault(day, []).append((_minutes(start), _minutes(end)))
    rest_days = {datetime.date.fromisoformat(d) for d in itinerary.rest_days or []}
    rest_weekdays = set(itinerary.rest_weekdays or [])
    out = {}
    for row in rows:
        speakers = model.speakers(pool, row.interpreter_language)
        length = max(1, _minutes(row.ends_at) - _minutes(row.starts_at))
        hours = _parse_hours(row.resource.opening_hours if row.resource_id else "")
        found = []
        day = first
        while day <= last:
            if (
                day != row.day
                and day not in rest_days
                and day.weekday() not in rest_weekdays
                and (caps is None or not row.resource_id or caps.day_cap(row.resource_id, day) > 0)
            ):
                begin = _first_free(day, length, hours, speakers, own.get(day, ()), morning=row.item_id in fasting)
                if begin is not None:
                    found.append((abs((day - row.day).days), day, begin))
            day += datetime.timedelta(days=1)
        nearest = sorted(found, key=lambda f: (f[0], f[1]))[:FREE_DAYS_SHOWN]
        out[row.pk] = [
            {"date": day, "start": _clock(begin), "end": _clock(begin + length)}
            for _distance, day, begin in sorted(nearest, key=lambda f: f[1])
        ]
    return out


def _first_free(day, length: int, hours, speakers, taken, *, morning: bool) -> int | None:
    """The earliest start on the day within the opening hours at which some interpreter is free for `length`
    minutes and the patient has no other visit (MOVE_MINUTES apart); None when there is none."""
    if not any(i.works(day) for i in speakers):
        return None
    for opens, closes in hours:
        begin = max(opens, DAY_START)
        if begin % SLOT_STEP_MINUTES:
            begin += SLOT_STEP_MINUTES - begin % SLOT_STEP_MINUTES
        while begin + length <= closes and not (morning and begin >= MORNING_END):
            end = begin + length
            clear = all(end + MOVE_MINUTES <= b or e + MOVE_MINUTES <= begin for b, e in taken)
            if clear and any(i.free(day, begin, end) for i in speakers):
                return begin
            begin += SLOT_STEP_MINUTES
    return None


# --- the hospital's pass --------------------------------------------------------------------------------


def rebalance(actor, hospital_id: int, days) -> int:
    """Inside a plan's transaction: re-solve who interprets every planned visit of the hospital on `days`,
    all patients at once (`assign_all`: the most visits in person, then the fewest changes, then the highest
    level), over the confirmed trips and the drafts. A confirmed visit with an interpreter keeps one in
    person; when its interpreter changes (or a confirmed visit gains one), its case's timeline says so and the
    change is audited. Drafts (nothing sent yet) are re-assigned as the pass finds best. The interpreters
    are locked first, so two passes and a confirmation never interleave. The number of entries changed."""
    from laihua.interpreters.models import Interpreter

    days = sorted(set(days))
    if not days:
        return 0
    list(Interpreter.objects.select_for_update().filter(hospital_id=hospital_id).order_by("pk").values_list("pk"))
    rows = list(
        ItineraryItem.objects.filter(
            itinerary__case__hospital_id=hospital_id,
            itinerary__status__in=(ItineraryStatus.ACTIVE, ItineraryStatus.DRAFT),
            kind=ItemKind.VISIT,
            day__in=days,
            starts_at__isnull=False,
            ends_at__isnull=False,
        )
        .exclude(interpreter_language="")
        .select_related("itinerary__case", "interpreter", "item")
        .order_by("pk")
    )
    if not rows:
        return 0
    pool = tuple(solver_interpreter(p, away) for p, away in planning_pool(hospital_id, days[0], days[-1]))
    needs = [
        model.Need(
            ref=str(row.pk),
            patient=str(row.itinerary.case_id),
            language=row.interpreter_language,
            day=row.day,
            begin=_minutes(row.starts_at),
            end=_minutes(row.ends_at),
            current=str(row.interpreter_id or ""),
            keep=row.itinerary.status == ItineraryStatus.ACTIVE and bool(row.interpreter_id),
            trip=str(row.itinerary_id),
        )
        for row in rows
    ]
    chosen = model.assign_all(needs, pool).chosen
    names = dict(Interpreter.objects.filter(hospital_id=hospital_id).values_list("pk", "name"))
    changed = 0
    for row in rows:
        key = chosen.get(str(row.pk), str(row.interpreter_id or ""))
        new = int(key) if key else None
        if new == row.interpreter_id:
            continue
        before = row.interpreter.name if row.interpreter_id else ""
        row.interpreter_id = new
        if new:
            row.interpreter_mode = InterpreterMode.IN_PERSON
        elif row.interpreter_mode == InterpreterMode.IN_PERSON:
            row.interpreter_mode = InterpreterMode.NONE
        row.save(update_fields=["interpreter", "interpreter_mode"])
        changed += 1
        if row.itinerary.status != ItineraryStatus.ACTIVE:
            continue
        case = row.itinerary.case
        detail = {"entry": row.pk, "day": row.day.isoformat(), "from": before, "to": names.get(new, "")}
        record_event(actor, "planning.interpreter.reassigned", case, hospital_id=hospital_id, detail=detail)
        where = {
            "service": row.item.code if row.item_id else "",
            "day": row.day.isoformat(),
            "time": row.starts_at.strftime("%H:%M"),
        }
        note = (
            timeline_note(
                gettext_noop("Interpreter for %(service)s on %(day)s at %(time)s: %(name)s."),
                name=names.get(new, ""),
                **where,
            )
            if new
            else timeline_note(
                gettext_noop(
                    "No interpreter in person for %(service)s on %(day)s at %(time)s any more: the coordinator "
                    "arranges one remotely or another day."
                ),
                **where,
            )
        )
        add_event(case, actor, "interpreter_changed", note=note, entry=row.pk)
    return changed


def rebalance_after_pool_change(sender, hospital_id: int, actor=None, **kwargs) -> int:
    """After the pool changed (an interpreter added or changed, days away added or removed, an import): the
    hospital's pass over every day from today on with a planned visit that needs an interpreter, so that no
    visit keeps an interpreter who is now away or off (a confirmed one's case is told) and a visit without
    one gets an interpreter now free. The number of entries changed."""
    days = (
        ItineraryItem.objects.filter(
            itinerary__case__hospital_id=hospital_id,
            itinerary__status__in=(ItineraryStatus.ACTIVE, ItineraryStatus.DRAFT),
            kind=ItemKind.VISIT,
            day__gte=clock.today(),
        )
        .exclude(interpreter_language="")
        .values_list("day", flat=True)
        .distinct()
    )
    with transaction.atomic():
        return rebalance(actor, hospital_id, set(days))


# --- shortages ----------------------------------------------------------------------------------------


def _short_rows(hospital_id: int, first: datetime.date, last: datetime.date):
    """Visits of confirmed trips that needed an interpreter and got none in person, by language and month."""
    return (
        ItineraryItem.objects.filter(
            itinerary__case__hospital_id=hospital_id,
            itinerary__status=ItineraryStatus.ACTIVE,
            kind=ItemKind.VISIT,
            day__range=(first, last),
        )
        .exclude(interpreter_language="")
        .annotate(month=TruncMonth("day"))
        .values("interpreter_language", "month")
        .annotate(
            needed=Count("pk"),
            short=Count("pk", filter=Q(interpreter__isnull=True)),
            remote=Count("pk", filter=Q(interpreter_mode__in=REMOTE_MODES)),
        )
        .order_by("month", "interpreter_language")
    )


def shortages(actor, first: datetime.date | None = None, last: datetime.date | None = None) -> list[dict]:
    """Per language and month: visits that needed an interpreter, those that got none in person, and of
    those the ones interpreted remotely (the actor's hospital; its admin and coordinators). Default: the
    last three months and the next six."""
    require_role(actor, SHORTAGE_READERS)
    today = clock.today()
    first = first or (today.replace(day=1) - datetime.timedelta(days=62)).replace(day=1)
    last = last or today + datetime.timedelta(days=183)
    if last < first or (last - first).days > 3 * 366:
        raise InvalidInput(_("Give at most three years, the end after the start."), field="until")
    rows = [
        {
            "language": r["interpreter_language"],
            "language_name": language_name(r["interpreter_language"]),
            "month": (r["month"].date() if isinstance(r["month"], datetime.datetime) else r["month"]).strftime("%Y-%m"),
            "needed": r["needed"],
            "short": r["short"],
            "remote": r["remote"],
        }
        for r in _short_rows(actor.hospital_id, first, last)
    ]
    record_event(
        actor,
        "planning.interpreter.shortages",
        hospital_id=actor.hospital_id,
        detail={"from": first.isoformat(), "until": last.isoformat()},
    )
    return rows


def shortages_csv(actor, first=None, last=None) -> str:
    out = io.StringIO()
    writer = SafeWriter(out)
    writer.writerow(["month", "language", "needed", "short", "remote"])
    for r in shortages(actor, first, last):
        writer.writerow([r["month"], r["language"], r["needed"], r["short"], r["remote"]])
    return out.getvalue()


# --- the interpreter's own day ------------------------------------------------------------------------


def interpreter_day(actor, day: datetime.date | None = None) -> dict:
    """An interpreter's visits on a day (confirmed trips), with only what they need: the patient's given
    name, the language, the times, the place and department, the hospital's address in Chinese. Audited:
    it reads patient data."""
    require_role(actor, (Role.INTERPRETER,))
    day = day or clock.today()
    person = getattr(actor, "interpreter", None)
    rows = []
    if person is not None and person.hospital_id == actor.hospital_id:
        rows = list(
            ItineraryItem.objects.filter(
                interpreter=person, day=day, kind=ItemKind.VISIT, itinerary__status=ItineraryStatus.ACTIVE
            )
            .select_related(
                "item", "resource", "resource__department", "itinerary__case__patient", "itinerary__case__hospital"
            )
            .order_by("starts_at", "pk")
        )
    visits = []
    for row in rows:
        case = row.itinerary.case
        hospital = case.hospital
        department = row.resource.department if row.resource_id and row.resource.department_id else None
        visits.append(
            {
                "id": row.pk,
                "starts_at": row.starts_at,
                "ends_at": row.ends_at,
                "patient": (case.patient.given_names.split() or [case.patient.family_name])[0],
                "language": row.interpreter_language,
                "language_name": language_name(row.interpreter_language),
                "service": pick(row.item.name) if row.item_id else "",
                "place": pick(row.resource.name) if row.resource_id else "",
                "department": pick(department.name) if department else "",
                "hospital": pick(hospital.name),
                "hospital_zh": pick(hospital.name, "zh-hans"),
                "address_zh": pick(hospital.address, "zh-hans"),
            }
        )
    record_event(
        actor,
        "planning.interpreter.day",
        hospital_id=actor.hospital_id,
        detail={"day": day.isoformat(), "visits": [v["id"] for v in visits]},
    )
    return {"day": day, "interpreter": person.name if person else "", "visits": visits}


# --- confirming -----------------------------------------------------------------------------------------


def take_interpreters(itinerary) -> None:
    """Inside the confirmation's transaction: lock each interpreter the itinerary names and make sure no
    other confirmed trip took them at an overlapping time meanwhile (else QuotaFull: nothing is booked
    and the trip is planned again, as for a place taken)."""
    from laihua.capacity.services import QuotaFull
    from laihua.interpreters.models import Interpreter

    rows = list(itinerary.items.filter(interpreter__isnull=False, starts_at__isnull=False, ends_at__isnull=False))
    if not rows:
        return
    list(Interpreter.objects.select_for_update().filter(pk__in={r.interpreter_id for r in rows}).order_by("pk"))
    for row in rows:
        begin, end = _minutes(row.starts_at), _minutes(row.ends_at)
        for other in (
            ItineraryItem.objects.filter(
                interpreter_id=row.interpreter_id, day=row.day, itinerary__status=ItineraryStatus.ACTIVE
            )
            .exclude(itinerary__case_id=itinerary.case_id)
            .exclude(starts_at__isnull=True)
            .exclude(ends_at__isnull=True)
        ):
            if (
                begin < _minutes(other.ends_at) + model.GAP_MINUTES
                and _minutes(other.starts_at) < end + model.GAP_MINUTES
            ):
                raise QuotaFull(
                    _("The interpreter %(name)s was booked for another patient at %(time)s on %(day)s.")
                    % {"name": row.interpreter, "time": row.starts_at.strftime("%H:%M"), "day": row.day.isoformat()}
                )

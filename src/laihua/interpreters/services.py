"""The hospital's interpreter pool: its desk (hospital admin, coordinators) keeps it, with each interpreter's
languages, level, working hours and weekdays and days away; CSV export and import; and the pool as the
planner reads it. Every read and change is checked against the actor's hospital and audited."""

import csv
import datetime
import io

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from laihua.accounts.models import Role
from laihua.accounts.permissions import require_role
from laihua.audit.services import record_event
from laihua.errors import FormInvalid, InvalidInput, NotFound
from laihua.interpreters.forms import AbsenceForm, InterpreterForm
from laihua.interpreters.models import Absence, Employment, Interpreter, Level
from laihua.interpreters.signals import pool_changed
from laihua.kit.csvdata import SafeWriter, from_spreadsheet

MANAGERS = (Role.HOSPITAL_ADMIN, Role.COORDINATOR)
CSV_COLUMNS = (
    "name",
    "employment",
    "agency",
    "languages",
    "level",
    "works_from",
    "works_until",
    "weekdays",
    "phone",
    "active",
    "username",
    "days_away",
)
MAX_IMPORT_ROWS = 2000


def visible_interpreters(actor):
    """The actor's hospital's pool (its desk only): another hospital's pool is never in it."""
    require_role(actor, MANAGERS)
    return Interpreter.objects.filter(hospital_id=actor.hospital_id).prefetch_related("absences")


def get_interpreter(actor, pk: int) -> Interpreter:
    found = visible_interpreters(actor).filter(pk=pk).first()
    if found is None:
        raise NotFound(_("No such interpreter."))
    return found


def pool_page(actor):
    """The pool as its page and the API list it (audited: it names people and their phones)."""
    rows = list(visible_interpreters(actor).select_related("user"))
    record_event(actor, "interpreters.list", hospital_id=actor.hospital_id, detail={"count": len(rows)})
    return rows


def _account(actor, username: str, instance: Interpreter | None):
    """The account a username names: an interpreter of the actor's hospital not linked to another entry."""
    if not username:
        return None
    user = get_user_model().objects.filter(username=username).first()
    if user is None or user.role != Role.INTERPRETER or user.hospital_id != actor.hospital_id:
        raise InvalidInput(
            _("Account (username): no interpreter account %(name)s at your hospital.") % {"name": username},
            field="username",
        )
    taken = Interpreter.objects.filter(user=user).exclude(pk=getattr(instance, "pk", None)).first()
    if taken is not None:
        raise InvalidInput(
            _("Account (username): %(name)s is already the account of %(other)s.") % {"name": username, "other": taken},
            field="username",
        )
    return user


def _check_name(actor, form, instance):
    name = form.cleaned_data["name"].strip()
    others = Interpreter.objects.filter(hospital_id=actor.hospital_id, name=name)
    if others.exclude(pk=getattr(instance, "pk", None)).exists():
        form.add_error("name", _("Your pool already has an interpreter of this name."))
        raise FormInvalid(form)


@transaction.atomic
def save_interpreter(actor, data, pk: int | None = None) -> Interpreter:
    """Add an interpreter to the actor's hospital's pool, or change one (its desk)."""
    require_role(actor, MANAGERS)
    instance = get_interpreter(actor, pk) if pk is not None else None
    form = InterpreterForm(data, instance=instance)
    if not form.is_valid():
        raise FormInvalid(form)
    _check_name(actor, form, instance)
    user = _account(actor, (form.cleaned_data.get("username") or "").strip(), instance)
    person = form.save(commit=False)
    person.hospital_id = actor.hospital_id
    person.user = user
    try:
        with transaction.atomic():
            person.save()
    except IntegrityError:  # another request saved the same name (or linked the same account) meanwhile
        form.add_error("name", _("Your pool already has an interpreter of this name."))
        raise FormInvalid(form) from None
    record_event(
        actor,
        "interpreters.create" if instance is None else "interpreters.update",
        person,
        hospital_id=actor.hospital_id,
        detail={"changed": sorted(form.changed_data)},
    )
    pool_changed.send(sender=Interpreter, hospital_id=actor.hospital_id, actor=actor)
    return person


@transaction.atomic
def add_absence(actor, pk: int, data) -> Absence:
    """Record days an interpreter is away: the planner gives them no visit on those days."""
    person = get_interpreter(actor, pk)
    form = AbsenceForm(data)
    if not form.is_valid():
        raise FormInvalid(form)
    absence = form.save(commit=False)
    absence.interpreter = person
    absence.save()
    record_event(
        actor,
        "interpreters.absence.create",
        person,
        hospital_id=actor.hospital_id,
        detail={"from": absence.starts_on.isoformat(), "until": absence.ends_on.isoformat()},
    )
    pool_changed.send(sender=Interpreter, hospital_id=actor.hospital_id, actor=actor)
    return absence


@transaction.atomic
def delete_absence(actor, pk: int, absence_id: int) -> None:
    person = get_interpreter(actor, pk)
    absence = person.absences.filter(pk=absence_id).first()
    if absence is None:
        raise NotFound(_("No such days away."))
    record_event(
        actor,
        "interpreters.absence.delete",
        person,
        hospital_id=actor.hospital_id,
        detail={"from": absence.starts_on.isoformat(), "until": absence.ends_on.isoformat()},
    )
    absence.delete()
    pool_changed.send(sender=Interpreter, hospital_id=actor.hospital_id, actor=actor)


def absence_json(absence: Absence) -> dict:
    return {"id": absence.pk, "from": absence.starts_on, "until": absence.ends_on, "note": absence.note}


def interpreter_json(person: Interpreter) -> dict:
    return {
        "id": person.pk,
        "name": person.name,
        "employment": person.employment,
        "agency": person.agency,
        "languages": list(person.languages),
        "level": person.level,
        "works_from": person.works_from.strftime("%H:%M"),
        "works_until": person.works_until.strftime("%H:%M"),
        "weekdays": list(person.weekdays),
        "phone": person.phone,
        "active": person.active,
        "username": person.user.get_username() if person.user_id else "",
        "absences": [absence_json(a) for a in person.absences.all()],
    }


# --- CSV ----------------------------------------------------------------------------------------------


def _days_away(person: Interpreter) -> str:
    return " ".join(f"{a.starts_on.isoformat()}/{a.ends_on.isoformat()}" for a in person.absences.all())


def export_csv(actor) -> str:
    """The pool as CSV (the columns import reads), audited."""
    rows = list(visible_interpreters(actor).select_related("user"))
    out = io.StringIO()
    writer = SafeWriter(out)
    writer.writerow(CSV_COLUMNS)
    for p in rows:
        writer.writerow(
            [
                p.name,
                p.employment,
                p.agency,
                " ".join(p.languages),
                p.level,
                p.works_from.strftime("%H:%M"),
                p.works_until.strftime("%H:%M"),
                " ".join(str(d) for d in p.weekdays),
                p.phone,
                "yes" if p.active else "no",
                p.user.get_username() if p.user_id else "",
                _days_away(p),
            ]
        )
    record_event(actor, "interpreters.export", hospital_id=actor.hospital_id, detail={"count": len(rows)})
    return out.getvalue()


def _fail(line: int, column: str, message: str):
    raise InvalidInput(
        _("interpreters.csv, row %(row)s, column %(column)s: %(message)s")
        % {"row": line, "column": column, "message": message},
        field=column,
    )


def _parse_days(line: int, text: str) -> list[tuple[datetime.date, datetime.date]]:
    spans = []
    for part in text.split():
        first, _sep, last = part.partition("/")
        try:
            start = datetime.date.fromisoformat(first)
            end = datetime.date.fromisoformat(last or first)
        except ValueError:
            _fail(line, "days_away", _("give days away as YYYY-MM-DD/YYYY-MM-DD separated by spaces."))
        if end < start:
            _fail(line, "days_away", _("the last day away is on or after the first."))
        spans.append((start, end))
    return spans


@transaction.atomic
def import_csv(actor, text: str) -> dict:
    """Add or change the pool from CSV (matched by name); every row is checked before anything is saved,
    and an error names its row and column. Days away in the file replace the interpreter's days away."""
    require_role(actor, MANAGERS)
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    missing = [c for c in ("name", "languages") if c not in (reader.fieldnames or [])]
    if missing:
        raise InvalidInput(
            _("interpreters.csv: missing columns: %(columns)s") % {"columns": ", ".join(missing)}, field=missing[0]
        )
    parsed = []
    for line, row in enumerate(reader, start=2):
        if line - 1 > MAX_IMPORT_ROWS:
            _fail(line, "name", _("at most %(most)s rows at a time.") % {"most": MAX_IMPORT_ROWS})
        if None in row:
            _fail(line, str(len(reader.fieldnames) + 1), _("more cells than the header has columns."))
        cells = {k: from_spreadsheet((v or "").strip()) for k, v in row.items()}
        existing = Interpreter.objects.filter(hospital_id=actor.hospital_id, name=cells.get("name", "")).first()
        data = {
            "name": cells.get("name", ""),
            "employment": cells.get("employment") or Employment.STAFF,
            "agency": cells.get("agency", ""),
            "languages": cells.get("languages", ""),
            "level": cells.get("level") or Level.GENERAL,
            "works_from": cells.get("works_from") or "08:00",
            "works_until": cells.get("works_until") or "17:00",
            "weekdays": (cells.get("weekdays") or "1 2 3 4 5").replace(",", " ").split(),
            "phone": cells.get("phone", ""),
            "username": cells.get("username", ""),
        }
        if (cells.get("active") or "yes").lower() in ("yes", "true", "1", "y"):
            data["active"] = "on"
        form = InterpreterForm(data, instance=existing)
        if not form.is_valid():
            name, errors = next(iter(form.errors.items()))
            _fail(line, name if name != "__all__" else "name", errors[0])
        try:
            user = _account(actor, data["username"], existing)
        except InvalidInput as exc:
            _fail(line, "username", str(exc.message))
        spans = _parse_days(line, cells.get("days_away", "")) if "days_away" in cells else None
        parsed.append((form, user, spans, existing))
    names = [form.cleaned_data["name"] for form, *_rest in parsed]
    if len(set(names)) != len(names):
        twice = next(n for n in names if names.count(n) > 1)
        _fail(names.index(twice) + 2, "name", _("%(name)s is in the file twice.") % {"name": twice})
    added = changed = 0
    for form, user, spans, existing in parsed:
        person = form.save(commit=False)
        person.hospital_id = actor.hospital_id
        person.user = user
        person.save()
        if spans is not None:
            person.absences.all().delete()
            Absence.objects.bulk_create(Absence(interpreter=person, starts_on=a, ends_on=b) for a, b in spans)
        added, changed = (added + 1, changed) if existing is None else (added, changed + 1)
    record_event(
        actor, "interpreters.import", hospital_id=actor.hospital_id, detail={"added": added, "changed": changed}
    )
    pool_changed.send(sender=Interpreter, hospital_id=actor.hospital_id, actor=actor)
    return {"added": added, "changed": changed}


# --- the pool as the planner reads it ----------------------------------------------------------------


def planning_pool(hospital_id: int, first: datetime.date, last: datetime.date) -> list[tuple[Interpreter, set]]:
    """The hospital's active interpreters with the days each is away between `first` and `last`."""
    people = list(Interpreter.objects.filter(hospital_id=hospital_id, active=True).order_by("pk"))
    away: dict[int, set] = {p.pk: set() for p in people}
    for absence in Absence.objects.filter(interpreter__in=people, starts_on__lte=last, ends_on__gte=first):
        day = max(absence.starts_on, first)
        while day <= min(absence.ends_on, last):
            away[absence.interpreter_id].add(day)
            day += datetime.timedelta(days=1)
    return [(p, away[p.pk]) for p in people]

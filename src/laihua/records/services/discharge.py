"""The clinician's structured discharge (episode) summary: one service for the page and the API."""

from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from laihua.accounts.models import Role
from laihua.audit.services import record_event
from laihua.cases.models import Case
from laihua.cases.services import add_event, require_case_staff
from laihua.errors import InvalidInput
from laihua.kit import clock
from laihua.records import discharge
from laihua.records.models import EpisodeSummary, TermTranslation

ICD10_RE = discharge.ICD10_RE
MAX_ROWS = 100


def _problem(error: discharge.RowError) -> str:
    messages = {
        "icd10": _("“%(code)s” is not an ICD-10 code (such as S83.2 or I10).") % {"code": error.value},
        "term": _("“%(code)s” is not in the term list of this code system; add it there first.")
        % {"code": error.value},
        "code_required": _("Give the code."),
        "date": _("Write the date as YYYY-MM-DD."),
        "number": _("Give a number greater than zero."),
        "choice": _("“%(value)s” is not one of the choices.") % {"value": error.value},
        "required": _("This is needed."),
        "system": _("A medication is not coded in ICD-10."),
    }
    return messages[error.problem]


def _list(value, name: str) -> list:
    if value in (None, ""):
        return []
    if not isinstance(value, list):
        raise InvalidInput(_("A list is expected."), field=name)
    if len(value) > MAX_ROWS:
        raise InvalidInput(_("At most %(n)d lines.") % {"n": MAX_ROWS}, field=name)
    for index, row in enumerate(value):
        if not isinstance(row, dict | str):
            raise InvalidInput(_("Each line must be an object."), field=f"{name}[{index}]")
    return [row if isinstance(row, dict) else {"text": row} for row in value]


def _known_terms(data: dict) -> set:
    """The (system, code) pairs of the term list among those the rows name (other than ICD-10)."""
    pairs = {
        (str(row.get("system") or "").strip(), str(row.get("code") or "").strip())
        for name in ("diagnoses", "procedures", "medications")
        for row in (data.get(name) or [])
        if isinstance(row, dict)
        and row.get("code")
        and str(row.get("system") or "").strip() not in ("", discharge.ICD10)
    }
    query = Q(pk__in=[])
    for system, code in pairs:
        query |= Q(system=system, code=code)
    return set(TermTranslation.objects.filter(query).values_list("system", "code"))


def clean(data: dict) -> dict:
    """The summary's fields checked and cleaned; the first problem is an InvalidInput naming its field."""
    known = _known_terms(data)
    out: dict = {}
    try:
        out["diagnoses"] = [
            r
            for i, row in enumerate(_list(data.get("diagnoses"), "diagnoses"))
            if (r := discharge.coded_row(row, f"diagnoses[{i}]", code_required=True, known_terms=known))
        ]
        out["procedures"] = []
        for i, row in enumerate(_list(data.get("procedures"), "procedures")):
            coded = discharge.coded_row(
                {**row, "system": row.get("system") or ("" if not row.get("code") else discharge.ICD10)},
                f"procedures[{i}]",
                code_required=False,
                known_terms=known,
            )
            date = discharge._date(row, "date", f"procedures[{i}].date")
            if coded:
                out["procedures"].append({**coded, "date": date})
        out["medications"] = [
            r
            for i, row in enumerate(_list(data.get("medications"), "medications"))
            if (r := discharge.medication_row(row, f"medications[{i}]", known_terms=known))
        ]
        out["follow_ups"] = [
            r
            for i, row in enumerate(_list(data.get("follow_ups"), "follow_ups"))
            if (r := discharge.follow_up_row(row, f"follow_ups[{i}]"))
        ]
    except discharge.RowError as error:
        raise InvalidInput(_problem(error), field=error.field) from None
    out["allergies"] = [
        {"text": str(row.get("text") or "").strip()[:500]}
        for row in _list(data.get("allergies"), "allergies")
        if str(row.get("text") or "").strip()
    ]
    out["results"] = [
        {"text": str(row.get("text") or "").strip()[:500], "value": str(row.get("value") or "").strip()[:500]}
        for row in _list(data.get("results"), "results")
        if str(row.get("text") or "").strip()
    ]
    language = str(data.get("language") or "en").strip().lower()
    if language not in discharge.LANGUAGES:
        raise InvalidInput(_("Choose English or Chinese."), field="language")
    out["language"] = language
    for name in ("plan_of_care", "plan_of_care_second", "follow_up", "follow_up_second"):
        out[name] = str(data.get(name) or "").strip()[:5000]
    return out


@transaction.atomic
def save_episode_summary(actor, case: Case, data: dict, *, complete: bool = False) -> EpisodeSummary:
    """The clinician writes (and at discharge completes) the case's structured discharge summary."""
    require_case_staff(actor, case, (Role.CLINICIAN,))
    fields = clean(data)
    if complete and not fields["diagnoses"]:
        raise InvalidInput(_("Give at least one diagnosis with its ICD-10 code."), field="diagnoses")
    summary, _created = EpisodeSummary.objects.select_for_update().get_or_create(case=case)
    for name, value in fields.items():
        setattr(summary, name, value)
    if complete:
        summary.completed_at = clock.now()
        summary.completed_by = actor
    summary.save()
    record_event(actor, "records.episode_summary", case, hospital=case.hospital, detail={"completed": complete})
    if complete:
        add_event(case, actor, "episode_summary_completed")
    return summary


def displays(summary: EpisodeSummary | None) -> EpisodeSummary | None:
    """Give each coded row `display_en` and `display_zh` from the term list, and each medication its
    dosage in words in both languages (`dosage_en`, `dosage_zh`)."""
    from laihua.records import dosage

    if summary is None:
        return None
    rows = [*summary.diagnoses, *summary.procedures, *summary.medications]
    query = Q(pk__in=[])
    for row in rows:
        if row.get("code"):
            query |= Q(system=row.get("system") or discharge.ICD10, code=row["code"])
    terms = {(t.system, t.code): t for t in TermTranslation.objects.filter(query)}
    for row in rows:
        term = terms.get((row.get("system") or discharge.ICD10, row.get("code", "")))
        row["display_en"] = (term.en if term else "") or row.get("text", "")
        row["display_zh"] = (term.zh_hans if term else "") or ""
    for row in summary.medications:
        dosages = discharge.fhir_dosage(row) if "dose" in row else []
        row["dosage_en"] = dosage.in_words(dosages, "en") if dosages else row.get("dosage", "")
        row["dosage_zh"] = dosage.in_words(dosages, "zh-hans") if dosages else ""
    return summary

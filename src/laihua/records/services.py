"""Records that cross borders: import and view International Patient Summaries, the term list, the
discharge (episode) summary and its IPS export, and the patient's consents to send records outside
the hospital (PIPL: a separate consent naming recipient, purpose, data types and period).

Who may do what:
- import: the case's patient, and the hospital's coordinators, clinicians and admins;
- view the summary and export: the case's patient and the hospital's coordinators, clinicians and admins;
- write the episode summary: the hospital's clinicians;
- term list: the hospital staff (any hospital; the list is shared, a translation made once serves all);
- consents: granted and withdrawn by the patient; read by the case's staff;
- send records outside: the hospital's coordinators and clinicians, only under an active consent that
  names the recipient and covers the data types today. The patient's own download needs no consent.
Every view, import, export and transfer is audited.
"""

import datetime
import json
import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.core.validators import validate_email
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q, QuerySet
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop

from laihua.accounts.models import Role
from laihua.accounts.services import require_role
from laihua.audit.services import record_event
from laihua.cases.models import Attachment, AttachmentKind, Case
from laihua.cases.services import add_event, require_case_party, require_case_staff, visible_cases
from laihua.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from laihua.kit import clock
from laihua.records import export as exporter
from laihua.records import ips
from laihua.records.models import (
    ClinicalItem,
    Consent,
    ConsentStatus,
    ConsentUse,
    DataType,
    EpisodeSummary,
    IpsDocument,
    ItemKind,
    TermTranslation,
    Transfer,
)

RECORD_STAFF = (Role.HOSPITAL_ADMIN, Role.COORDINATOR, Role.CLINICIAN)
SENDERS = (Role.COORDINATOR, Role.CLINICIAN)
TERM_EDITORS = (Role.HOSPITAL_ADMIN, Role.COORDINATOR, Role.CLINICIAN, Role.PLATFORM_ADMIN)
ICD10_RE = re.compile(r"^[A-TV-Z][0-9][0-9AB](\.[0-9A-TV-Z]{1,4})?$")
KIND_ORDER = [k for k, _label in ItemKind.choices]


# Labels of the PDF, which shows each in the patient's language and in Chinese (records/_bi.html).
PDF_LABELS = [
    gettext_noop("International Patient Summary"),
    gettext_noop("Patient"),
    gettext_noop("Date of birth"),
    gettext_noop("Nationality"),
    gettext_noop("Prepared"),
    gettext_noop("Discharge summary"),
    gettext_noop("Diagnoses"),
    gettext_noop("Procedures done"),
    gettext_noop("Discharge medications"),
    gettext_noop("Allergies"),
    gettext_noop("Results"),
    gettext_noop("Plan of care"),
    gettext_noop("Follow-up"),
    gettext_noop("Records from other providers"),
    gettext_noop("As written"),
    gettext_noop("English"),
    gettext_noop("Chinese"),
    gettext_noop("Date"),
    gettext_noop("No records yet."),
]


class ConsentRequired(PermissionDenied):
    code = "consent_required"
    default_message = gettext_lazy("The patient has not consented to sending these records to this recipient.")


# --- who sees which -------------------------------------------------------------------------------


def require_records_access(actor, case: Case) -> None:
    """The case's patient (else NotFound) or a coordinator, clinician or admin of its hospital."""
    require_case_party(actor, case)
    if actor.role != Role.PATIENT:
        require_case_staff(actor, case, RECORD_STAFF)


def visible_documents(actor) -> QuerySet[IpsDocument]:
    """The documents on cases the actor may see (the one scoping query of this domain)."""
    if actor is None or not actor.is_authenticated:
        return IpsDocument.objects.none()
    if actor.role not in (Role.PATIENT, *RECORD_STAFF):
        return IpsDocument.objects.none()
    return IpsDocument.objects.filter(case__in=visible_cases(actor)).select_related("case", "patient")


def visible_consents(actor) -> QuerySet[Consent]:
    if actor is None or not actor.is_authenticated or actor.role not in (Role.PATIENT, *RECORD_STAFF):
        return Consent.objects.none()
    return Consent.objects.filter(case__in=visible_cases(actor)).select_related("case", "patient")


# --- import ---------------------------------------------------------------------------------------


def _patient_warnings(parsed: ips.Parsed, case: Case) -> list[str]:
    """Differences between the document's Patient and the case's patient (shown, not refused)."""
    found = []
    resource = parsed.patient()
    birth = resource.get("birthDate")
    if birth and birth != case.patient.date_of_birth.isoformat():
        found.append(_("The document's patient was born on %(date)s.") % {"date": birth})
    families = {(n.get("family") or "").strip().lower() for n in resource.get("name") or [] if isinstance(n, dict)}
    if families - {""} and case.patient.family_name.strip().lower() not in families:
        found.append(_("The document's patient is called %(name)s.") % {"name": ", ".join(sorted(families - {""}))})
    return found


def _parse_timestamp(value):
    try:
        return datetime.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


def store(parsed: ips.Parsed, case: Case, actor, *, source: str = "upload") -> tuple[IpsDocument, bool]:
    """Store a checked document and its items once per case (the caller holds the transaction)."""
    system, value = parsed.identifier
    existing = IpsDocument.objects.filter(
        case_id=case.pk, identifier_system=system[:255], identifier_value=value[:255], content_hash=parsed.content_hash
    ).first()
    if existing is not None:
        return existing, False
    composition = parsed.composition
    rows = ips.items(parsed)
    authors = composition.get("author") or []
    document = IpsDocument(
        patient_id=case.patient_id,
        case=case,
        hospital_id=case.hospital_id,
        identifier_system=system[:255],
        identifier_value=value[:255],
        timestamp=_parse_timestamp(parsed.data.get("timestamp")),
        title=str(composition.get("title") or "")[:255],
        author=str(authors[0].get("display") or "")[:255] if authors and isinstance(authors[0], dict) else "",
        source_format=parsed.source_format,
        content=parsed.text,
        content_hash=parsed.content_hash,
        item_count=len(rows),
        imported_by=actor if actor is not None and actor.is_authenticated else None,
    )
    try:
        with transaction.atomic():
            document.save()
    except IntegrityError:  # the same document, stored a moment ago by someone else
        return IpsDocument.objects.get(
            case_id=case.pk,
            identifier_system=system[:255],
            identifier_value=value[:255],
            content_hash=parsed.content_hash,
        ), False
    _insert_items(document, case, rows)
    return document, True


ITEM_COLUMNS = (
    "document_id",
    "patient_id",
    "case_id",
    "position",
    "kind",
    "resource_type",
    "text",
    "codes",
    "status",
    "date",
    "value",
    "detail",
)


def _insert_items(document: IpsDocument, case: Case, rows: list[dict]) -> None:
    """Store a document's items in one statement: COPY on PostgreSQL (the fastest bulk insert), else bulk_create."""
    values = [
        (
            document.pk,
            case.patient_id,
            case.pk,
            position,
            row["kind"],
            row["resource_type"],
            row["text"],
            row["codes"],
            row.get("status", "")[:40],
            row.get("date", "")[:40],
            row.get("value", "")[:255],
            row.get("detail", {}),
        )
        for position, row in enumerate(rows)
    ]
    if not values:
        return
    if connection.vendor == "postgresql":
        table = ClinicalItem._meta.db_table
        statement = f"COPY {table} ({', '.join(ITEM_COLUMNS)}) FROM STDIN"
        with connection.cursor() as cursor, cursor.cursor.copy(statement) as copy:
            for value in values:
                copy.write_row((*value[:7], json.dumps(value[7]), *value[8:11], json.dumps(value[11])))
        return
    ClinicalItem.objects.bulk_create([ClinicalItem(**dict(zip(ITEM_COLUMNS, value, strict=True))) for value in values])


def import_document(
    actor, case: Case, content: bytes | str, *, source: str = "upload", by_system: bool = False
) -> tuple[IpsDocument, bool]:
    """Check an IPS (JSON or XML) and store it with its items on the case; (document, created).

    A refused document raises IpsInvalid with every issue and its location, and stores nothing.
    `by_system` is the operator's bulk import on the command line (no person signed in)."""
    if not by_system:
        require_records_access(actor, case)
    if len(content) > settings.LAIHUA_UPLOAD_MAX_BYTES:
        raise InvalidInput(
            _("The file is %(size)s; documents up to %(limit)s can be imported.")
            % {"size": filesizeformat(len(content)), "limit": filesizeformat(settings.LAIHUA_UPLOAD_MAX_BYTES)},
            field="file",
        )
    if not content:
        raise InvalidInput(_("The file is empty."), field="file")
    try:
        parsed = ips.parse(content)
    except ips.IpsInvalid as exc:
        record_event(
            actor,
            "records.import_refused",
            case,
            hospital=case.hospital,
            detail={"issues": len(exc.issues), "source": source},
        )
        raise
    warnings = _patient_warnings(parsed, case)
    with transaction.atomic():
        document, created = store(parsed, case, actor, source=source)
        record_event(
            actor,
            "records.import",
            document,
            hospital=case.hospital,
            detail={"case": case.reference, "created": created, "items": document.item_count, "source": source},
        )
        if created:
            add_event(case, actor, "records_imported", note=document.title, document=document.pk)
    document.warnings = warnings
    return document, created


def importable_attachments(actor, case: Case) -> list[Attachment]:
    """The case's IPS attachments (offered for import on the records page)."""
    require_records_access(actor, case)
    attachments = case.attachments.filter(kind=AttachmentKind.IPS)
    if actor.role == Role.PATIENT:
        attachments = attachments.filter(internal=False)
    return list(attachments)


def import_attachment(actor, case: Case, attachment_id: int) -> tuple[IpsDocument, bool]:
    """Import an IPS the patient or staff attached to the case."""
    attachment = next((a for a in importable_attachments(actor, case) if a.pk == attachment_id), None)
    if attachment is None:
        raise NotFound(_("No such attachment."))
    with attachment.file.open("rb") as handle:
        content = handle.read()
    return import_document(actor, case, content, source="attachment")


# --- viewing and the term list --------------------------------------------------------------------


def _translations(items) -> dict:
    pairs = {(c.get("system", ""), c.get("code", "")) for item in items for c in item.codes}
    if not pairs:
        return {}
    query = Q()
    for system, code in pairs:
        query |= Q(system=system, code=code)
    return {(t.system, t.code): t for t in TermTranslation.objects.filter(query)}


def annotate(items: list[ClinicalItem]) -> list[ClinicalItem]:
    """Give each item `display_en` and `display_zh` from the term list (English falls back to the original)."""
    terms = _translations(items)
    for item in items:
        item.display_en, item.display_zh = "", ""
        for coding in item.codes:
            term = terms.get((coding.get("system", ""), coding.get("code", "")))
            if term:
                item.display_en = item.display_en or term.en
                item.display_zh = item.display_zh or term.zh_hans
        if not item.display_en:
            item.display_en = next((c.get("display") for c in item.codes if c.get("display")), "") or item.text
    return items


def case_records(actor, case: Case) -> dict:
    """The case's documents and the patient's summary by kind (audited as a view of records)."""
    require_records_access(actor, case)
    documents = list(visible_documents(actor).filter(case=case))
    items = annotate(
        list(ClinicalItem.objects.filter(case=case).select_related("document").order_by("document_id", "position"))
    )
    by_kind = {kind: [] for kind in KIND_ORDER}
    for item in items:
        by_kind[item.kind].append(item)
    record_event(actor, "records.view", case, hospital=case.hospital, detail={"documents": len(documents)})
    summary = EpisodeSummary.objects.filter(case=case).first()
    return {
        "documents": documents,
        "items": items,
        "sections": [(kind, ItemKind(kind).label, by_kind[kind]) for kind in KIND_ORDER if by_kind[kind]],
        "summary": summary,
    }


def get_document(actor, pk: int) -> IpsDocument:
    """A document the actor may see (audited), else NotFound."""
    require_role(actor, Role.values)
    document = visible_documents(actor).filter(pk=pk).first()
    if document is None:
        raise NotFound(_("No such document."))
    record_event(actor, "records.document_view", document, hospital=document.case.hospital)
    return document


def terms(actor, *, query: str = "") -> QuerySet[TermTranslation]:
    require_role(actor, TERM_EDITORS)
    rows = TermTranslation.objects.all()
    query = (query or "").strip()
    if query:
        rows = rows.filter(Q(code__icontains=query) | Q(en__icontains=query) | Q(zh_hans__icontains=query))
    return rows


@transaction.atomic
def save_term(actor, *, system: str, code: str, en: str = "", zh_hans: str = "") -> TermTranslation:
    """Add or change a code's English and Chinese display in the shared term list."""
    require_role(actor, TERM_EDITORS)
    system, code, en, zh_hans = (str(v or "").strip() for v in (system, code, en, zh_hans))
    if not system:
        raise InvalidInput(_("Give the code system (e.g. http://snomed.info/sct)."), field="system")
    if not code:
        raise InvalidInput(_("Give the code."), field="code")
    if not en and not zh_hans:
        raise InvalidInput(_("Give the English or the Chinese display, or both."), field="zh_hans")
    if len(system) > 255 or len(code) > 100 or len(en) > 255 or len(zh_hans) > 255:
        raise InvalidInput(_("This value is too long."), field="en")
    term, _created = TermTranslation.objects.update_or_create(
        system=system, code=code, defaults={"en": en, "zh_hans": zh_hans, "updated_by": actor}
    )
    record_event(actor, "records.term_save", term, detail={"system": system, "code": code})
    return term


@transaction.atomic
def delete_term(actor, pk: int) -> None:
    require_role(actor, TERM_EDITORS)
    term = TermTranslation.objects.filter(pk=pk).first()
    if term is None:
        raise NotFound(_("No such term."))
    record_event(actor, "records.term_delete", term, detail={"system": term.system, "code": term.code})
    term.delete()


def untranslated_codes(actor, case: Case) -> list[dict]:
    """The codes of the case's items that have no Chinese display yet (offered on the term list)."""
    require_records_access(actor, case)
    items = annotate(list(ClinicalItem.objects.filter(case=case)))
    seen, out = set(), []
    for item in items:
        if item.display_zh:
            continue
        for coding in item.codes[:1]:
            key = (coding.get("system", ""), coding.get("code", ""))
            if key not in seen:
                seen.add(key)
                out.append({**coding, "text": item.text})
    return out


# --- the episode summary and export ---------------------------------------------------------------


def _rows(value, fields: tuple[str, ...], name: str) -> list[dict]:
    if value in (None, ""):
        return []
    if not isinstance(value, list):
        raise InvalidInput(_("A list is expected."), field=name)
    out = []
    for index, row in enumerate(value):
        if isinstance(row, str):
            row = {fields[0]: row}
        if not isinstance(row, dict):
            raise InvalidInput(_("Each line must be an object."), field=f"{name}[{index}]")
        clean = {f: str(row.get(f) or "").strip()[:500] for f in fields}
        if not clean[fields[0] if fields[0] != "code" else "text"] and not clean.get("code"):
            continue
        out.append(clean)
    return out


def parse_lines(text: str, fields: tuple[str, ...]) -> list[dict]:
    """Lines of "a | b" typed in a textarea as row dicts."""
    out = []
    for line in (text or "").splitlines():
        if not line.strip():
            continue
        parts = [p.strip() for p in line.split("|")]
        out.append({f: parts[i] if i < len(parts) else "" for i, f in enumerate(fields)})
    return out


@transaction.atomic
def save_episode_summary(actor, case: Case, data: dict, *, complete: bool = False) -> EpisodeSummary:
    """The clinician writes (and at discharge completes) the case's episode summary; diagnoses need ICD-10 codes."""
    require_case_staff(actor, case, (Role.CLINICIAN,))
    diagnoses = _rows(data.get("diagnoses"), ("code", "text"), "diagnoses")
    for index, row in enumerate(diagnoses):
        row["code"] = row["code"].upper()
        if not ICD10_RE.match(row["code"]):
            raise InvalidInput(
                _("“%(code)s” is not an ICD-10 code (such as S83.2 or I10).") % {"code": row["code"]},
                field=f"diagnoses[{index}].code",
            )
    date_rows = _rows(data.get("procedures"), ("text", "date"), "procedures")
    for index, row in enumerate(date_rows):
        if row["date"]:
            try:
                datetime.date.fromisoformat(row["date"])
            except ValueError:
                raise InvalidInput(_("Write the date as YYYY-MM-DD."), field=f"procedures[{index}].date") from None
    summary, _created = EpisodeSummary.objects.select_for_update().get_or_create(case=case)
    summary.diagnoses = diagnoses
    summary.procedures = date_rows
    summary.medications = _rows(data.get("medications"), ("text", "dosage"), "medications")
    summary.allergies = _rows(data.get("allergies"), ("text",), "allergies")
    summary.results = _rows(data.get("results"), ("text", "value"), "results")
    summary.plan_of_care = str(data.get("plan_of_care") or "").strip()[:5000]
    summary.follow_up = str(data.get("follow_up") or "").strip()[:5000]
    if complete:
        if not diagnoses:
            raise InvalidInput(_("Give at least one diagnosis with its ICD-10 code."), field="diagnoses")
        summary.completed_at = clock.now()
        summary.completed_by = actor
    summary.save()
    record_event(actor, "records.episode_summary", case, hospital=case.hospital, detail={"completed": complete})
    if complete:
        add_event(case, actor, "episode_summary_completed")
    return summary


def _case_item_dicts(case: Case, kinds=None) -> list[dict]:
    rows = ClinicalItem.objects.filter(case=case, document__direction="imported").order_by("document_id", "position")
    if kinds is not None:
        rows = rows.filter(kind__in=kinds)
    return [
        {"kind": r.kind, "text": r.text, "codes": r.codes, "status": r.status, "date": r.date, "value": r.value}
        for r in rows
    ]


def _kinds_for(data_types) -> set | None:
    """The item kinds a consent's data types cover (None: all)."""
    if data_types is None or DataType.SUMMARY in data_types:
        return None
    return {t for t in data_types if t in ItemKind.values}


def build_export(case: Case, *, data_types=None) -> dict:
    """The IPS Bundle of a case (restricted to some data types when sending under a consent)."""
    kinds = _kinds_for(data_types)
    summary = EpisodeSummary.objects.filter(case=case).first()
    if data_types is not None and DataType.SUMMARY not in data_types and DataType.DISCHARGE not in data_types:
        summary = _restricted_summary(summary, kinds)
    items = _case_item_dicts(case, kinds)
    bundle = exporter.build_bundle(case, items=items, summary=summary, author=summary.completed_by if summary else None)
    problems = ips.structure_issues(bundle) + ips.rule_issues(bundle)
    if problems:  # pragma: no cover - a defect of the exporter, proven absent by the tests
        raise ips.IpsInvalid(problems)
    return bundle


def _restricted_summary(summary, kinds):
    if summary is None:
        return None
    copy = EpisodeSummary(case=summary.case, completed_by=summary.completed_by)
    copy.diagnoses = summary.diagnoses if "problem" in kinds else []
    copy.allergies = summary.allergies if "allergy" in kinds else []
    copy.medications = summary.medications if "medication" in kinds else []
    copy.results = summary.results if "result" in kinds else []
    return copy


def export_case(actor, case: Case) -> dict:
    """The case's IPS document for the actor (the patient's own download is always allowed); audited."""
    require_records_access(actor, case)
    bundle = build_export(case)
    record_event(
        actor, "records.export", case, hospital=case.hospital, detail={"identifier": bundle["identifier"]["value"]}
    )
    return bundle


def case_for_patient_summary(actor, patient_id: int, reference: str | None = None) -> Case:
    """The case whose IPS $summary the actor asks for: the given one, else the patient's latest they may see."""
    require_role(actor, (Role.PATIENT, *RECORD_STAFF))
    cases = visible_cases(actor).filter(patient_id=patient_id)
    if reference:
        cases = cases.filter(reference=reference)
    case = cases.order_by(F("episode_summary__completed_at").desc(nulls_last=True), "-created_at").first()
    if case is None:
        raise NotFound(_("No such patient."))
    return case


def summary_pdf(actor, case: Case, *, language: str | None = None) -> bytes:
    """The readable summary as PDF in the patient's language with Chinese beside it (audited as an export)."""
    from laihua.kit.pdf import render_pdf

    require_records_access(actor, case)
    context = _pdf_context(case)
    record_event(actor, "records.export_pdf", case, hospital=case.hospital)
    return render_pdf("records/summary_pdf.html", context, language=language or _pdf_language(case))


def _pdf_language(case: Case) -> str:
    return "zh-hans" if case.language.startswith("zh") else "en"


def _pdf_context(case: Case) -> dict:
    items = annotate(list(ClinicalItem.objects.filter(case=case).order_by("document_id", "position")))
    by_kind = {kind: [] for kind in KIND_ORDER}
    for item in items:
        by_kind[item.kind].append(item)
    return {
        "case": case,
        "patient": case.patient,
        "hospital": case.hospital,
        "hospital_zh": case.hospital.name.get("zh-hans", ""),
        "summary": EpisodeSummary.objects.filter(case=case).first(),
        "sections": [(kind, ItemKind(kind).label, by_kind[kind]) for kind in KIND_ORDER if by_kind[kind]],
        "generated": clock.now(),
    }


# --- consent and transfer -------------------------------------------------------------------------


def _date(value, field: str) -> datetime.date:
    if isinstance(value, datetime.date):
        return value
    try:
        return datetime.date.fromisoformat(str(value or ""))
    except ValueError:
        raise InvalidInput(_("Write the date as YYYY-MM-DD."), field=field) from None


@transaction.atomic
def grant_consent(
    actor,
    case: Case,
    *,
    recipient_name: str,
    recipient_email: str,
    purpose: str,
    data_types: list[str],
    period_start,
    period_end,
    recipient_country: str = "",
) -> Consent:
    """The patient consents separately to one recipient receiving some of their records for a purpose and period."""
    require_case_party(actor, case)
    if actor.role != Role.PATIENT:
        raise PermissionDenied(_("Only the patient can give this consent."))
    recipient_name = str(recipient_name or "").strip()
    if not recipient_name:
        raise InvalidInput(_("Name the recipient."), field="recipient_name")
    recipient_email = str(recipient_email or "").strip()
    try:
        validate_email(recipient_email)
    except ValidationError:
        raise InvalidInput(_("Give the recipient's e-mail address."), field="recipient_email") from None
    purpose = str(purpose or "").strip()
    if not purpose:
        raise InvalidInput(_("Say what the records are for."), field="purpose")
    data_types = [str(t) for t in data_types or []]
    if not data_types:
        raise InvalidInput(_("Choose which records may be sent."), field="data_types")
    unknown = [t for t in data_types if t not in DataType.values]
    if unknown:
        raise InvalidInput(_("Unknown data type “%(type)s”.") % {"type": unknown[0]}, field="data_types")
    start, end = _date(period_start, "period_start"), _date(period_end, "period_end")
    if end < start:
        raise InvalidInput(_("The period ends before it starts."), field="period_end")
    if end < clock.today():
        raise InvalidInput(_("The period has already ended."), field="period_end")
    consent = Consent.objects.create(
        patient=case.patient,
        case=case,
        recipient_name=recipient_name[:200],
        recipient_email=recipient_email,
        recipient_country=str(recipient_country or "")[:2].upper(),
        purpose=purpose[:300],
        data_types=sorted(set(data_types)),
        period_start=start,
        period_end=end,
        granted_by=actor,
    )
    record_event(actor, "records.consent_grant", consent, hospital=case.hospital, detail={"recipient": recipient_name})
    add_event(case, actor, "consent_granted", note=recipient_name)
    return consent


def get_consent(actor, pk: int, *, audit: str | None = "records.consent_view") -> Consent:
    require_role(actor, Role.values)
    consent = visible_consents(actor).filter(pk=pk).first()
    if consent is None:
        raise NotFound(_("No such consent."))
    if audit:
        record_event(actor, audit, consent, hospital=consent.case.hospital)
    return consent


def consents_of_case(actor, case: Case) -> list[Consent]:
    require_records_access(actor, case)
    return list(visible_consents(actor).filter(case=case))


@transaction.atomic
def withdraw_consent(actor, pk: int) -> Consent:
    """The patient withdraws a consent: no transfer under it from now on."""
    consent = get_consent(actor, pk, audit=None)
    if actor.role != Role.PATIENT:
        raise PermissionDenied(_("Only the patient can withdraw this consent."))
    consent = Consent.objects.select_for_update().get(pk=consent.pk)
    if consent.status != ConsentStatus.ACTIVE:
        raise Conflict(_("This consent is no longer active."))
    consent.status = ConsentStatus.INACTIVE
    consent.withdrawn_at = clock.now()
    consent.save(update_fields=["status", "withdrawn_at"])
    record_event(
        actor, "records.consent_withdraw", consent, hospital=consent.case.hospital, detail={"use": consent.use}
    )
    kind = "payment_consent_withdrawn" if consent.use == ConsentUse.PAYMENT else "consent_withdrawn"
    add_event(consent.case, actor, kind, note=consent.recipient_name)
    return consent


def matching_consent(case: Case, recipient_email: str, data_types: list[str]) -> Consent | None:
    """An active consent of the case's patient naming this recipient and covering the data types today."""
    today = clock.today()
    for consent in Consent.objects.filter(
        patient_id=case.patient_id,
        case=case,
        use=ConsentUse.RECORDS,
        status=ConsentStatus.ACTIVE,
        recipient_email__iexact=(recipient_email or "").strip(),
        period_start__lte=today,
        period_end__gte=today,
    ):
        if set(data_types) <= set(consent.data_types):
            return consent
    return None


def send_records(actor, case: Case, *, recipient_email: str, data_types: list[str] | None = None) -> Transfer:
    """E-mail the case's IPS (and the PDF, for summary or discharge consents) to a consented recipient; else refuse."""
    require_case_staff(actor, case, SENDERS)
    recipient_email = str(recipient_email or "").strip()
    candidates = Consent.objects.filter(
        case=case, use=ConsentUse.RECORDS, status=ConsentStatus.ACTIVE, recipient_email__iexact=recipient_email
    ).order_by("-granted_at")
    wanted = list(data_types) if data_types else (list(candidates[0].data_types) if candidates else [])
    consent = matching_consent(case, recipient_email, wanted) if wanted else None
    if consent is None:
        record_event(
            actor,
            "records.transfer_refused",
            case,
            hospital=case.hospital,
            detail={"recipient": recipient_email, "data_types": wanted},
        )
        raise ConsentRequired()
    with transaction.atomic():
        bundle = build_export(case, data_types=wanted)
        transfer = Transfer.objects.create(
            consent=consent, case=case, sent_by=actor, recipient_email=consent.recipient_email, data_types=wanted
        )
        record_event(
            actor,
            "records.transfer",
            case,
            hospital=case.hospital,
            detail={"consent": consent.pk, "recipient": consent.recipient_email, "data_types": wanted},
        )
        add_event(case, actor, "records_sent", note=consent.recipient_name, staff_only=True)
    from laihua.kit.pdf import render_pdf

    message = EmailMessage(
        subject=_("Medical records of %(name)s from %(hospital)s")
        % {"name": case.patient.full_name, "hospital": case.hospital.name.get("en", "")},
        body=_(
            "Attached are the medical records of %(name)s, sent with the patient's consent for: %(purpose)s.\n"
            "The International Patient Summary (HL7 FHIR) is attached as JSON, with a readable PDF."
        )
        % {"name": case.patient.full_name, "purpose": consent.purpose},
        to=[consent.recipient_email],
    )
    message.attach(
        f"ips-{case.reference}.json", json.dumps(bundle, ensure_ascii=False, indent=1), "application/fhir+json"
    )
    if DataType.SUMMARY in wanted or DataType.DISCHARGE in wanted:  # the PDF shows everything
        message.attach(
            f"summary-{case.reference}.pdf",
            render_pdf("records/summary_pdf.html", _pdf_context(case), language=_pdf_language(case)),
            "application/pdf",
        )
    transaction.on_commit(message.send)
    return transfer

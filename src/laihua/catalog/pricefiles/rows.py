"""The rows a price file lists: `PriceRow` (one published item with its price in force, what the files
are written from and what the importer reads them into), `PriceFile` (a hospital's rows as of a date)
and `price_file`, which reads them from the catalog; with the bilingual texts both formats carry."""

import datetime
import hashlib
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Prefetch
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from laihua.catalog.models import CatalogItem, PackageComponent, PaidPriceSummary
from laihua.catalog.pricefiles.cms import cms_code_type, setting_for
from laihua.catalog.services import published
from laihua.hospitals.models import Hospital
from laihua.kit import clock
from laihua.kit.i18n import pick


@dataclass
class PriceRow:
    """One published catalog item with the price in force: a row of the CSV, an entry of the JSON."""

    code: str
    kind: str
    name: dict[str, str]
    amount_min: Decimal
    amount_max: Decimal
    department: str = ""
    details: dict[str, str] = field(default_factory=dict)
    included: dict[str, str] = field(default_factory=dict)
    excluded: dict[str, str] = field(default_factory=dict)
    keywords: str = ""
    comparable: str = ""
    waiting_days: int = 0
    duration_minutes: int | None = None
    stay_days: int | None = None
    standard_codes: list[dict[str, str]] = field(default_factory=list)
    # A package's services as (code, quantity) by code; None when a file read has no such column.
    components: list[tuple[str, int]] | None = field(default_factory=list)
    # What patients actually paid (catalog.PaidPriceSummary), told in the notes; None below 10 cases and
    # for a file read back (the notes are not read).
    paid: PaidPriceSummary | None = field(default=None, compare=False)

    @classmethod
    def from_item(cls, item: CatalogItem) -> "PriceRow":
        """From an item annotated with its price in force (services.published)."""
        return cls(
            code=item.code,
            kind=item.kind,
            name=dict(item.name or {}),
            amount_min=item.price_min,
            amount_max=item.price_max,
            department=item.department.code if item.department_id else "",
            details=dict(item.description or {}),
            included=dict(item.included or {}),
            excluded=dict(item.excluded or {}),
            keywords=item.keywords,
            comparable=item.comparable.key if item.comparable_id else "",
            waiting_days=item.waiting_days,
            duration_minutes=item.duration_minutes,
            stay_days=item.stay_days,
            standard_codes=[
                {"system": str(c["system"]).strip(), "code": str(c["code"]).strip()}
                for c in item.standard_codes or []
                if str(c.get("system") or "").strip() and str(c.get("code") or "").strip()
            ],
            components=sorted((c.item.code, c.quantity) for c in item.components.all()),
            paid=_paid_summary(item),
        )

    @property
    def is_range(self) -> bool:
        return self.amount_max != self.amount_min

    @property
    def setting(self) -> str:
        return setting_for(self.kind, self.stay_days)

    def cms_codes(self) -> list[tuple[str, str]]:
        """(code, CMS type) pairs: the hospital's own code as LOCAL, then the standard codes that map."""
        codes = [(self.code, "LOCAL")]
        for entry in self.standard_codes:
            code_type = cms_code_type(entry["system"])
            if code_type and (entry["code"], code_type) not in codes:
                codes.append((entry["code"], code_type))
        return codes

    def extension(self) -> dict:
        """Laihua's own data elements, under the same names in the JSON and the CSV."""
        return {
            "description_zh_hans": self.name.get("zh-hans", ""),
            "kind": self.kind,
            "department": self.department,
            "details_en": self.details.get("en", ""),
            "details_zh_hans": self.details.get("zh-hans", ""),
            "included_en": self.included.get("en", ""),
            "included_zh_hans": self.included.get("zh-hans", ""),
            "excluded_en": self.excluded.get("en", ""),
            "excluded_zh_hans": self.excluded.get("zh-hans", ""),
            "keywords": self.keywords,
            "comparable": self.comparable,
            "waiting_days": self.waiting_days,
            "duration_minutes": self.duration_minutes,
            "stay_days": self.stay_days,
            "standard_codes": [dict(c) for c in self.standard_codes],
            "package_components": [{"code": code, "quantity": quantity} for code, quantity in self.components or []],
        }


def _paid_summary(item: CatalogItem) -> PaidPriceSummary | None:
    try:
        return item.paid_summary
    except ObjectDoesNotExist:
        return None


@dataclass
class PriceFile:
    """A hospital's published catalog as of a date: what both file formats are written from."""

    hospital: Hospital
    last_updated_on: datetime.date
    rows: list[PriceRow]

    @property
    def hospital_name(self) -> str:
        return pick(self.hospital.name, "en")

    @property
    def hospital_address(self) -> str:
        address, city = pick(self.hospital.address, "en"), pick(self.hospital.city.name, "en")
        return address if not city or city in address else f"{address}, {city}"

    @property
    def hospital_address_zh(self) -> str:
        address, city = self.hospital.address.get("zh-hans", ""), self.hospital.city.name.get("zh-hans", "")
        return address if not city or city in address else f"{city}{address}"

    def statement(self) -> str:
        """What the file is, in English and Chinese: the publisher's own attestation."""
        values = {"hospital": self.hospital_name, "date": self.last_updated_on.isoformat()}
        return bilingual(lambda: _statement_text() % values)

    def etag(self, body: bytes) -> str:
        return f'"{hashlib.sha256(body).hexdigest()[:32]}"'


def _statement_text() -> str:
    return _(
        "%(hospital)s publishes in this file every service and package of its international catalog with "
        "the price in force as of %(date)s: gross charges in Chinese yuan (CNY) for self-paying patients, a "
        "fixed price or a range (minimum and maximum). Earlier prices are not listed. The file is laid out "
        "in the CMS hospital price transparency format 3.0.0 but is not a filing under US law "
        "(45 CFR 180.50): the US attestation is not confirmed, and license_information and type_2_npi hold "
        "stand-ins the format requires, not a US licence or NPI."
    )


def bilingual(render) -> str:
    """A text rendered in English and in Simplified Chinese, joined when the two differ."""
    texts = []
    for language in ("en", "zh-hans"):
        with translation.override(language):
            text = str(render())
        if text not in texts:
            texts.append(text)
    return " / ".join(texts)


def price_file(hospital: Hospital, day: datetime.date | None = None) -> PriceFile:
    """The hospital's active items with the price in force on the day (today by default), by code."""
    day = day or clock.today()
    components = Prefetch("components", queryset=PackageComponent.objects.select_related("item"))
    items = list(
        published(day)
        .filter(hospital=hospital)
        .select_related("comparable", "paid_summary")
        .prefetch_related(components)
        .order_by("code")
    )
    dates = [timezone.localtime(hospital.created_at).date()]
    dates += [item.price_from for item in items]
    dates += [timezone.localtime(item.updated_at).date() for item in items]
    last_updated = min(max(dates), day)
    return PriceFile(hospital=hospital, last_updated_on=last_updated, rows=[PriceRow.from_item(i) for i in items])


def generic_notes(row: PriceRow) -> str:
    def render():
        parts = [_("Amounts in Chinese yuan (CNY).")]
        if row.name.get("zh-hans"):
            parts.append(_("Chinese name: %(name)s.") % {"name": row.name["zh-hans"]})
        if row.is_range:
            parts.append(
                _(
                    "The charge lies between %(min)s and %(max)s CNY depending on the case; the gross charge "
                    "given is the upper end."
                )
                % {"min": f"{row.amount_min:,.2f}", "max": f"{row.amount_max:,.2f}"}
            )
        if row.paid is not None:
            parts.append(
                _(
                    "Actually paid in %(cases)s closed, invoiced cases (as of %(date)s): median %(median)s CNY, "
                    "10th to 90th percentile %(p10)s to %(p90)s CNY (nearest rank)."
                )
                % {
                    "cases": row.paid.cases,
                    "date": timezone.localtime(row.paid.updated_at).date().isoformat(),
                    "median": f"{row.paid.median:,.2f}",
                    "p10": f"{row.paid.p10:,.2f}",
                    "p90": f"{row.paid.p90:,.2f}",
                }
            )
        return " ".join(parts)

    return bilingual(render)

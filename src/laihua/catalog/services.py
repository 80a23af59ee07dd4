"""The catalog: search, comparison, editing and price history."""

import datetime
import re
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import (
    BooleanField,
    Count,
    ExpressionWrapper,
    F,
    Func,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    TextField,
    Window,
)
from django.utils.translation import gettext as _

from laihua.accounts.services import CATALOG_EDITORS, require_hospital_staff
from laihua.audit.services import record_event
from laihua.catalog.forms import ItemForm, PriceForm
from laihua.catalog.models import CatalogItem, ComparableService, Price, ReferencePrice
from laihua.catalog.pricing import refresh_due_prices
from laihua.errors import Conflict, InvalidInput, NotFound
from laihua.hospitals.models import Hospital
from laihua.kit import clock
from laihua.kit.money import MAX_AMOUNT
from laihua.rates import services as rates


class FormInvalid(InvalidInput):
    """A form's errors: the first names the field; views show them all beside their fields."""

    def __init__(self, form):
        self.form = form
        field, errors = next(iter(form.errors.items()))
        super().__init__(errors[0], field=None if field == "__all__" else field)


def with_price_on(items: QuerySet[CatalogItem], day: datetime.date) -> QuerySet[CatalogItem]:
    """Annotate each item with the price in force on the day (price_min, price_max, price_from)."""
    in_force = Price.objects.filter(item=OuterRef("pk"), effective_from__lte=day).order_by("-effective_from")
    return items.annotate(
        price_min=Subquery(in_force.values("amount_min")[:1]),
        price_max=Subquery(in_force.values("amount_max")[:1]),
        price_from=Subquery(in_force.values("effective_from")[:1]),
    )


def published(day: datetime.date | None = None) -> QuerySet[CatalogItem]:
    """Active items with a price in force: what the public sees (price_min, price_max, price_from)."""
    today = clock.today()
    if day is None or day == today:
        refresh_due_prices(today)
    return _published(day or today, today)


def _published(day: datetime.date, today: datetime.date) -> QuerySet[CatalogItem]:
    """published() without the refresh: today's price from the items' copy of it, another day's from history."""
    items = CatalogItem.objects.filter(active=True).select_related(
        "hospital", "hospital__city", "department", "comparable"
    )
    if day != today:
        return with_price_on(items, day).filter(price_min__isnull=False)
    items = items.filter(current_price_min__isnull=False)
    return items.annotate(
        price_min=F("current_price_min"), price_max=F("current_price_max"), price_from=F("current_price_from")
    )


@dataclass
class SearchQuery:
    q: str = ""
    city: str = ""
    department: str = ""
    kind: str = ""
    hospital: str = ""
    price_min_cny: Decimal | None = None
    price_max_cny: Decimal | None = None
    sort: str = "price"
    limit: int = 20
    offset: int = 0


# Equal prices keep a stable order by hospital and code: the hospital's key, not its slug, so that the
# ranking reads the catalog table alone (and on PostgreSQL often its covering index alone).
SORTS = {
    "price": ("price_min", "hospital_id", "code"),
    "-price": ("-price_min", "hospital_id", "code"),
    "hospital": ("hospital__slug", "code"),
}

CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
CJK_PAIR = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]{2}")


WORD_SEPARATORS = " \n-(/"
SHORT_WORD = re.compile(r"[a-z0-9]{1,2}")


def _matching(items: QuerySet[CatalogItem], term: str) -> QuerySet[CatalogItem]:
    """Items whose search text holds the term, in a form PostgreSQL finds through an index.

    A term of three characters or more is a substring (trigram index, migration 0002). A term with
    Chinese characters is a substring too; a pair of them (核磁) holds no trigram and is found through
    the character-pair index (migration 0003), which answers exactly whether the text holds the pair. A
    one- or two-letter term (CT, GP) matches the start of a word, so that "ct" finds CT scans, not
    doctors; on PostgreSQL the index of every word's first one and two characters (migration 0005)
    answers it exactly.
    """
    postgres = connection.vendor == "postgresql"
    if postgres and CJK_PAIR.fullmatch(term):
        return items.alias(cjk_pairs=_text_array("catalog_cjk_bigrams")).filter(cjk_pairs__contains=[term])
    if CJK.search(term) or len(term) >= 3:
        return items.filter(search_text__contains=term)
    if postgres and SHORT_WORD.fullmatch(term):
        return items.alias(prefixes=_text_array("catalog_word_prefixes")).filter(prefixes__contains=[term])
    word_start = Q(search_text__startswith=term)
    for separator in WORD_SEPARATORS:
        word_start |= Q(search_text__contains=separator + term)
    return items.filter(word_start)


def _text_array(function: str) -> Func:
    """One of the catalog's PostgreSQL functions of the search text (an indexed text[] expression)."""
    from django.contrib.postgres.fields import ArrayField

    return Func("search_text", function=function, output_field=ArrayField(TextField()))


def _priced_within(query: SearchQuery, day: datetime.date) -> Subquery:
    """Whether the item's price in force on the day meets the query's price bounds (or exists, without
    bounds): one price lookup per item, where a filter per bound would look it up once per bound."""
    bounds = Q(pk__isnull=False)
    if query.price_min_cny is not None:
        bounds &= Q(amount_max__gte=query.price_min_cny)
    if query.price_max_cny is not None:
        bounds &= Q(amount_min__lte=query.price_max_cny)
    in_force = Price.objects.filter(item=OuterRef("pk"), effective_from__lte=day).order_by("-effective_from")
    meets = in_force.annotate(meets=ExpressionWrapper(bounds, output_field=BooleanField())).values("meets")[:1]
    return Subquery(meets, output_field=BooleanField())


def _filtered(query: SearchQuery) -> QuerySet[CatalogItem]:
    items = CatalogItem.objects.filter(active=True)
    for term in query.q.lower().split():
        items = _matching(items, term)
    if query.city:
        items = items.filter(hospital__city__slug=query.city)
    if query.hospital:
        items = items.filter(hospital__slug=query.hospital)
    if query.department:
        items = items.filter(department__code=query.department)
    if query.kind:
        items = items.filter(kind=query.kind)
    return items


def _priced_today(items: QuerySet[CatalogItem], query: SearchQuery) -> QuerySet[CatalogItem]:
    """Filter and rank on the item's copy of today's price (catalog.pricing), refreshed before."""
    items = items.filter(current_price_min__isnull=False)
    if query.price_min_cny is not None:
        items = items.filter(current_price_max__gte=query.price_min_cny)
    if query.price_max_cny is not None:
        items = items.filter(current_price_min__lte=query.price_max_cny)
    return items.annotate(price_min=F("current_price_min"))


def _priced_on(items: QuerySet[CatalogItem], query: SearchQuery, day: datetime.date) -> QuerySet[CatalogItem]:
    """Filter and rank on the price in force on another day, looked up in the price history."""
    items = items.filter(_priced_within(query, day))
    in_force = Price.objects.filter(item=OuterRef("pk"), effective_from__lte=day).order_by("-effective_from")
    return items.annotate(price_min=Subquery(in_force.values("amount_min")[:1]))


# What a search result shows (catalog.api.item_out, web.results): the search text (every language's
# words, the longest column) is for matching, and the hospital's profile is for its own page.
RESULT_FIELDS = [
    *(
        field.name
        for field in CatalogItem._meta.concrete_fields
        if field.name not in ("search_text", "updated_at", "current_price_until")
    ),
    "hospital__slug",
    "hospital__name",
    "hospital__city__slug",
    "hospital__city__name",
    "department__code",
    "department__name",
    "comparable__key",
]


def search(query: SearchQuery, day: datetime.date | None = None) -> tuple[list[CatalogItem], int]:
    """Published items matching every word of the query (in any language), with the total count.

    One narrow query ranks the matches (id and price) and counts them with a window function; a
    second query reads the page's rows in full. Today's search ranks on the items' copy of today's
    price; a search on another day looks each price up in the history.
    """
    today = clock.today()
    day = day or today
    items = _filtered(query)
    if day == today:
        refresh_due_prices(today)
        items = _priced_today(items, query)
    else:
        items = _priced_on(items, query, day)
    ranked = items.annotate(total=Window(Count("pk"))).order_by(*SORTS.get(query.sort, SORTS["price"]))
    rows = list(ranked.values_list("pk", "total")[query.offset : query.offset + query.limit])
    total = rows[0][1] if rows else (items.count() if query.offset else 0)
    # The search text (every language's words, the longest column) is for matching, not for showing.
    page = _published(day, today).only(*RESULT_FIELDS).in_bulk([pk for pk, _total in rows])
    return [page[pk] for pk, _total in rows if pk in page], total


def published_item(hospital_slug: str, code: str, day: datetime.date | None = None) -> CatalogItem:
    item = published(day).filter(hospital__slug=hospital_slug, code=code).first()
    if item is None:
        raise NotFound(_("No such service in this hospital's catalog."))
    return item


def price_history(item: CatalogItem) -> QuerySet[Price]:
    return item.prices.order_by("-effective_from")


def compare(comparable: ComparableService, day: datetime.date | None = None) -> list[CatalogItem]:
    """Every hospital's published item for the same service, cheapest first."""
    return list(published(day).filter(comparable=comparable).order_by("price_min", "hospital__slug"))


def references_for(comparable: ComparableService | None) -> QuerySet[ReferencePrice]:
    """The newest reference price per country for the service."""
    if comparable is None:
        return ReferencePrice.objects.none()
    return ReferencePrice.objects.filter(comparable=comparable).order_by("country", "-year").distinct()


@dataclass(frozen=True)
class Comparison:
    reference: ReferencePrice
    reference_cny: Decimal
    saving_cny: Decimal
    saving_percent: int
    rate: rates.Rate


def compare_abroad(item: CatalogItem, price_cny: Decimal) -> list[Comparison]:
    """The saving against each country's newest reference price (converted at today's rate)."""
    newest: dict[str, ReferencePrice] = {}
    for ref in references_for(item.comparable):
        newest.setdefault(ref.country, ref)
    result = []
    for ref in newest.values():
        try:
            rate = rates.rate_for(ref.currency)
        except rates.RateUnavailable:
            continue
        ref_cny = rates.convert_to_cny(ref.amount, rate)
        saving = ref_cny - price_cny
        percent = int((saving / ref_cny * 100).to_integral_value()) if ref_cny else 0
        result.append(Comparison(ref, ref_cny, saving, percent, rate))
    return sorted(result, key=lambda c: -c.reference_cny)


# Editing: staff of the item's own hospital only.


def editable_items(actor, hospital: Hospital) -> QuerySet[CatalogItem]:
    require_hospital_staff(actor, hospital, CATALOG_EDITORS)
    return with_price_on(hospital.catalog.select_related("department"), clock.today()).order_by("code")


def item_with_current_price(item_id: int) -> CatalogItem:
    """An item (published or not) annotated with the price in force today, if any."""
    items = CatalogItem.objects.select_related("hospital", "hospital__city", "department", "comparable")
    return with_price_on(items.filter(pk=item_id), clock.today()).get()


def get_editable_item(actor, item_id: int) -> CatalogItem:
    item = CatalogItem.objects.select_related("hospital").filter(pk=item_id).first()
    if item is None:
        raise NotFound(_("No such catalog item."))
    require_hospital_staff(actor, item.hospital, CATALOG_EDITORS)
    return item


@transaction.atomic
def save_item(actor, hospital: Hospital, data: dict, *, item: CatalogItem | None = None) -> CatalogItem:
    """Create or update a catalog item from form data; every field is checked before anything is saved."""
    require_hospital_staff(actor, hospital, CATALOG_EDITORS)
    if item is not None and item.hospital_id != hospital.pk:
        raise NotFound(_("No such catalog item."))
    form = ItemForm(data, instance=item, hospital=hospital)
    if not form.is_valid():
        raise FormInvalid(form)
    created = item is None
    item = form.save()
    record_event(
        actor,
        "catalog.item.create" if created else "catalog.item.update",
        item,
        detail={"changed": form.changed_data},
    )
    return item


@transaction.atomic
def set_price(actor, item: CatalogItem, data: dict) -> Price:
    """Add a price from a date on: today or later, so the prices of past days stay as they were."""
    require_hospital_staff(actor, item.hospital, CATALOG_EDITORS)
    form = PriceForm(data)
    if not form.is_valid():
        raise FormInvalid(form)
    start = form.cleaned_data["effective_from"]
    low = form.cleaned_data["amount_min"]
    high = form.cleaned_data["amount_max"] if form.cleaned_data["amount_max"] is not None else low
    if start < clock.today():
        raise InvalidInput(
            _("A new price starts today or later: past prices are kept as they were."), field="effective_from"
        )
    if high < low:
        raise InvalidInput(_("The upper price must not be below the lower one."), field="amount_max")
    if Price.objects.filter(item=item, effective_from=start).exists():
        raise Conflict(_("A price already starts on this date."), field="effective_from")
    price = Price.objects.create(item=item, effective_from=start, amount_min=low, amount_max=high, created_by=actor)
    record_event(
        actor,
        "catalog.price.create",
        item,
        detail={"effective_from": start.isoformat(), "min": str(low), "max": str(high)},
    )
    return price


def require_editor(actor, hospital: Hospital | None) -> None:
    """The actor edits this hospital's catalog (hospital admins and coordinators of it only)."""
    from laihua.accounts.services import require_role
    from laihua.errors import PermissionDenied

    require_role(actor, CATALOG_EDITORS)
    if hospital is None:
        raise PermissionDenied()
    require_hospital_staff(actor, hospital, CATALOG_EDITORS)


def item_form_data(hospital: Hospital, payload: dict) -> dict:
    """Flatten an API payload into the item form's field names, resolving codes to records."""
    data = {key: value for key, value in payload.items() if value is not None and not isinstance(value, dict)}
    for field in ("name", "description", "included", "excluded"):
        for language, text in (payload.get(field) or {}).items():
            data[f"{field}_{language}"] = text
    department = payload.get("department")
    if department:
        match = hospital.departments.filter(code=department).first()
        if match is None:
            raise InvalidInput(
                _("This hospital has no department “%(code)s”.") % {"code": department}, field="department"
            )
        data["department"] = match.pk
    comparable = payload.get("comparable")
    if comparable:
        match = ComparableService.objects.filter(key=comparable).first()
        if match is None:
            raise InvalidInput(_("Unknown comparable service “%(key)s”.") % {"key": comparable}, field="comparable")
        data["comparable"] = match.pk
    if not payload.get("active", True):
        data.pop("active", None)
    return data


def search_query_from_params(params: dict, *, rate: rates.Rate | None = None) -> tuple[SearchQuery, rates.Rate]:
    """Parse public search parameters; price bounds are in the chosen currency and become CNY.

    `rate`, when the caller already holds the rate of that currency for today, saves looking it up again."""
    currency = params.get("currency") or "CNY"
    if rate is None or rate.currency != currency:
        rate = rates.rate_for(currency)
    limit = params.get("limit") or SearchQuery.limit
    offset = params.get("offset") or 0
    if not 1 <= int(limit) <= 200:
        raise InvalidInput(_("Ask for 1 to 200 results at a time."), field="limit")
    if int(offset) < 0:
        raise InvalidInput(_("The offset cannot be negative."), field="offset")
    bounds = {}
    for field in ("price_min", "price_max"):
        value = params.get(field)
        if value in (None, ""):
            continue
        try:
            value = Decimal(str(value))
        except ArithmeticError:
            raise InvalidInput(_("“%(value)s” is not an amount.") % {"value": value}, field=field) from None
        if not value.is_finite() or value < 0:
            raise InvalidInput(_("An amount must be zero or more."), field=field)
        if value >= MAX_AMOUNT:
            raise InvalidInput(_("This amount is too large."), field=field)
        bounds[field] = rates.convert_to_cny(value, rate)
    sort = params.get("sort") or "price"
    if sort not in SORTS:
        raise InvalidInput(_("Sort by one of: %(choices)s.") % {"choices": ", ".join(SORTS)}, field="sort")
    query = SearchQuery(
        q=(params.get("q") or "").strip()[:100],
        city=params.get("city") or "",
        department=params.get("department") or "",
        kind=params.get("kind") or "",
        hospital=params.get("hospital") or "",
        price_min_cny=bounds.get("price_min"),
        price_max_cny=bounds.get("price_max"),
        sort=sort,
        limit=int(limit),
        offset=int(offset),
    )
    return query, rate


# Public pages: one hospital's catalog, a comparable service by key, featured comparisons.


def hospital_catalog(hospital: Hospital, day: datetime.date | None = None) -> list[CatalogItem]:
    """A hospital's published items, grouped by department (items without one last), then by code."""

    def order(item):
        return (item.department is None, item.department.code if item.department else "", item.code)

    return sorted(published(day).filter(hospital=hospital), key=order)


def comparable_service(key: str) -> ComparableService:
    service = ComparableService.objects.filter(key=key).first()
    if service is None:
        raise NotFound(_("No such service to compare."))
    return service


@dataclass(frozen=True)
class Featured:
    comparable: ComparableService
    cheapest: CatalogItem
    hospitals: int


def featured_comparisons(limit: int = 4) -> list[Featured]:
    """The services offered by the most hospitals, each with its cheapest published price."""
    offered = (
        ComparableService.objects.annotate(offers=Count("items", filter=Q(items__active=True)))
        .filter(offers__gt=0)
        .order_by("-offers", "key")[:limit]
    )
    featured = []
    for service in offered:
        items = compare(service)
        if items:
            featured.append(Featured(service, items[0], len({item.hospital_id for item in items})))
    return featured

"""The catalog: search, comparison, editing and price history."""

import datetime
import re
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import (
    BooleanField,
    Count,
    DecimalField,
    ExpressionWrapper,
    F,
    Func,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    TextField,
    Value,
)
from django.utils.translation import gettext as _

from laihua.accounts.permissions import require_hospital_staff
from laihua.accounts.services import CATALOG_EDITORS
from laihua.audit.services import record_event
from laihua.catalog.forms import ItemForm, PriceForm
from laihua.catalog.models import (
    CatalogItem,
    ComparableService,
    Kind,
    PackageComponent,
    PaidPriceSummary,
    Price,
    ReferencePrice,
)
from laihua.catalog.pricing import refresh_due_prices
from laihua.errors import Conflict, InvalidInput, NotFound
from laihua.hospitals.models import City, Hospital
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
        city = City.objects.filter(slug=query.city).values_list("pk", flat=True).first()
        items = items.filter(city_id=city) if city is not None else items.none()
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


def _ranking_order(query: SearchQuery) -> list:
    """The ranking's ORDER BY. With words, the words' indexes find the matches and the matches are sorted:
    the price is ranked as `price + 0`, which no index orders, so that PostgreSQL never walks a price index
    (the city's, the hospital's, the kind's) in price order filtering each item by the words. It cannot tell
    how far that walk goes, since a word's items cluster in price (MRI scans are not the cheapest items): a
    walk through Chengdu for "MRI" read 20,000 items to find 20. Without words the price indexes rank alone."""
    order = SORTS.get(query.sort, SORTS["price"])
    if not query.q.split():
        return list(order)
    unindexed = []
    for name in order:
        field = name.lstrip("-")
        if field != "price_min":
            unindexed.append(name)
            continue
        price = ExpressionWrapper(F(field) + Value(0), output_field=DecimalField())
        unindexed.append(price.desc() if name.startswith("-") else price.asc())
    return unindexed


# A search counts its matches up to this many (or to the end of the page asked for, when that is deeper):
# counting every match of a broad word in a large catalog costs more than finding the page itself.
COUNT_LIMIT = 1000


def search(query: SearchQuery, day: datetime.date | None = None) -> tuple[list[CatalogItem], int, bool]:
    """Published items matching every word of the query (in any language): (the page, the total, whether
    the total is exact).

    One narrow query ranks the matches (id and price) and stops after the page, so that PostgreSQL may walk
    an index in price order; a second counts the matches up to COUNT_LIMIT (beyond it the total is "at
    least", not exact), unless the first page already holds them all; a third reads the page's rows in
    full. Today's search ranks on the items' copy of today's price; a search on another day looks each
    price up in the history.
    """
    today = clock.today()
    day = day or today
    items = _filtered(query)
    if day == today:
        refresh_due_prices(today)
        items = _priced_today(items, query)
    else:
        items = _priced_on(items, query, day)
    ranked = items.order_by(*_ranking_order(query))
    rows = list(ranked.values_list("pk", flat=True)[query.offset : query.offset + query.limit])
    if query.offset == 0 and len(rows) < query.limit:
        total, exact = len(rows), True
    else:
        bound = max(COUNT_LIMIT, query.offset + query.limit)
        counted = items.order_by().values("pk")[: bound + 1].count()
        total, exact = min(counted, bound), counted <= bound
    # The search text (every language's words, the longest column) is for matching, not for showing.
    page = _published(day, today).only(*RESULT_FIELDS).in_bulk(rows)
    return [page[pk] for pk in rows if pk in page], total, exact


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
    """Create or update a catalog item from form data; every field is checked before anything is saved.

    The data may list the standard codes and, for a package, its components (`components`, see
    set_components); a field left out of the data keeps its value."""
    require_hospital_staff(actor, hospital, CATALOG_EDITORS)
    if item is not None and item.hospital_id != hospital.pk:
        raise NotFound(_("No such catalog item."))
    form = ItemForm(data, instance=item, hospital=hospital)
    if form.is_valid():
        _check_codes_and_components(form, hospital, item)
    if not form.is_valid():
        raise FormInvalid(form)
    components = form.cleaned_data.get("components")
    created = item is None
    item = form.save()
    changed = [
        name
        for name in form.changed_data
        if name != "components" and (name != "standard_codes" or form.provided("standard_codes"))
    ]
    record_event(actor, "catalog.item.create" if created else "catalog.item.update", item, detail={"changed": changed})
    if components is not None:
        set_components(actor, item, components)
    return item


def _check_codes_and_components(form: ItemForm, hospital: Hospital, item: CatalogItem | None) -> None:
    """The rules a form cannot check alone, added to the form beside their fields."""
    kind, code = form.cleaned_data["kind"], form.cleaned_data["code"]
    if form.provided("standard_codes"):
        codes, problems = check_standard_codes(form.cleaned_data.get("standard_codes") or [])
        for problem in problems:
            form.add_error("standard_codes", problem)
        form.instance.standard_codes = codes
    components = form.cleaned_data.get("components")
    if components is not None:
        _resolved, problems = _resolve_components(hospital, code, kind, components, package=item)
        for problem in problems:
            form.add_error("components", problem)
    elif item is not None and kind != Kind.PACKAGE and item.components.exists():
        form.add_error("kind", package_keeps_services_problem())
    if item is not None and kind == Kind.PACKAGE:
        container = PackageComponent.objects.filter(item=item).select_related("package").first()
        if container is not None:
            form.add_error("kind", part_of_package_problem(container.package.code))


def package_keeps_services_problem() -> str:
    return _("This package lists services: remove them before making it another kind.")


def part_of_package_problem(package_code: str) -> str:
    return _("This service is part of the package “%(package)s”, and a package cannot be part of another.") % {
        "package": package_code
    }


# Packages: a package lists the services it includes, each with a quantity, all of its own hospital.
# Packages are one level deep: a package contains services, never another package.

MAX_COMPONENT_QUANTITY = 999


def component_problems(
    code: str,
    kind: str,
    components: list[tuple[str, int]],
    kinds: dict[str, str],
    *,
    own: frozenset[str] = frozenset(),
    elsewhere: frozenset[str] = frozenset(),
) -> list[str]:
    """What is wrong with a package's list of (service code, quantity), in the user's language.

    `kinds` maps the hospital's codes to their kinds, `own` holds any other code that is the package
    itself (its code before a change), `elsewhere` the unknown codes that another hospital uses."""
    if not components:
        return []
    if kind != Kind.PACKAGE:
        return [_("Only a package lists services: make this item a package, or list none.")]
    problems, seen = [], set()
    for part, quantity in components:
        if part in seen:
            problems.append(_("“%(code)s” is listed twice: give it once, with its quantity.") % {"code": part})
            continue
        seen.add(part)
        if part == code or part in own:
            problems.append(_("A package cannot contain itself (“%(code)s”).") % {"code": part})
        elif part in kinds and kinds[part] == Kind.PACKAGE:
            problems.append(
                _("“%(code)s” is a package: a package contains services, not other packages.") % {"code": part}
            )
        elif part not in kinds and part in elsewhere:
            problems.append(
                _("“%(code)s” is another hospital's service: a package contains its own hospital's services only.")
                % {"code": part}
            )
        elif part not in kinds:
            problems.append(_("This hospital's catalog has no service “%(code)s”.") % {"code": part})
        if isinstance(quantity, bool) or not isinstance(quantity, int) or not 1 <= quantity <= MAX_COMPONENT_QUANTITY:
            problems.append(
                _("The quantity of “%(code)s” must be a whole number from 1 to %(max)s.")
                % {"code": part, "max": MAX_COMPONENT_QUANTITY}
            )
    return problems


def component_pairs(components) -> list[tuple[str, int]]:
    """(code, quantity) pairs from pairs or from {"code", "quantity"} mappings (quantity 1 when left out)."""
    pairs = []
    for entry in components:
        if isinstance(entry, dict):
            code, quantity = entry.get("code"), entry.get("quantity", 1)
        else:
            code, quantity = entry
        pairs.append((str(code or "").strip(), quantity))
    return pairs


def _resolve_components(
    hospital: Hospital, code: str, kind: str, components, *, package: CatalogItem | None
) -> tuple[list[tuple[CatalogItem, int]], list[str]]:
    """The hospital's items for the components, or the problems with them."""
    pairs = component_pairs(components)
    codes = {part for part, _quantity in pairs}
    items = {i.code: i for i in hospital.catalog.filter(code__in=codes)}
    own = frozenset(c for c, i in items.items() if package is not None and i.pk == package.pk)
    unknown = codes - set(items)
    elsewhere = frozenset(
        CatalogItem.objects.filter(code__in=unknown).exclude(hospital=hospital).values_list("code", flat=True)
        if unknown
        else []
    )
    kinds = {c: i.kind for c, i in items.items()}
    problems = component_problems(code, kind, pairs, kinds, own=own, elsewhere=elsewhere)
    if problems:
        return [], problems
    return [(items[part], quantity) for part, quantity in pairs], []


def components_of(package: CatalogItem) -> list[PackageComponent]:
    """A package's services with their quantities, by code."""
    return list(package.components.select_related("item").order_by("item__code"))


def _component_list(pairs) -> list[dict]:
    return [{"code": code, "quantity": quantity} for code, quantity in sorted(pairs)]


@transaction.atomic
def set_components(actor, package: CatalogItem, components) -> list[PackageComponent]:
    """Replace a package's components with a list of (service code, quantity): all of them or none.

    Refused (InvalidInput on the field "components"): a code this hospital does not have (or another
    hospital's), the package itself, another package, an item that is not a package, a quantity outside
    1-999, a code listed twice. An audit event records the list before and after any change."""
    require_hospital_staff(actor, package.hospital, CATALOG_EDITORS)
    package = CatalogItem.objects.select_for_update().select_related("hospital").get(pk=package.pk)
    resolved, problems = _resolve_components(package.hospital, package.code, package.kind, components, package=package)
    if problems:
        raise InvalidInput(problems[0], field="components")
    current = components_of(package)
    before = _component_list((c.item.code, c.quantity) for c in current)
    after = _component_list((item.code, quantity) for item, quantity in resolved)
    if before == after:
        return current
    package.components.all().delete()
    PackageComponent.objects.bulk_create(
        [PackageComponent(package=package, item=item, quantity=quantity) for item, quantity in resolved]
    )
    record_event(actor, "catalog.package.components", package, detail={"before": before, "after": after})
    return components_of(package)


# Standard codes: {system, code} pairs, with the systems the CSV import accepts (any name without “:” or
# “|”, the separators of the CSV's standard_codes column).

STANDARD_SYSTEM_MAX_LENGTH = 40
STANDARD_CODE_MAX_LENGTH = 80
_LINE_BREAK = re.compile(r"[\r\n\t]")


def check_standard_codes(codes) -> tuple[list[dict[str, str]], list[str]]:
    """The codes as {"system", "code"} (trimmed), and what is wrong with them in the user's language."""
    normalised, problems, seen = [], [], set()
    for entry in codes:
        if isinstance(entry, dict):
            system, code = entry.get("system"), entry.get("code")
        else:
            system, code = entry
        system, code = str(system or "").strip(), str(code or "").strip()
        if not system or not code:
            problems.append(_("Give each standard code with its system, e.g. CPT:70551."))
            continue
        if ":" in system or "|" in system or _LINE_BREAK.search(system):
            problems.append(_("“%(system)s” is not a code system: a system has no “:” or “|”.") % {"system": system})
            continue
        if "|" in code or _LINE_BREAK.search(code):
            problems.append(_("The code “%(code)s” cannot hold “|” or a line break.") % {"code": code})
            continue
        if len(system) > STANDARD_SYSTEM_MAX_LENGTH or len(code) > STANDARD_CODE_MAX_LENGTH:
            problems.append(
                _(
                    "“%(system)s:%(code)s” is too long: a system has at most %(system_max)s characters, "
                    "a code %(code_max)s."
                )
                % {
                    "system": system,
                    "code": code,
                    "system_max": STANDARD_SYSTEM_MAX_LENGTH,
                    "code_max": STANDARD_CODE_MAX_LENGTH,
                }
            )
            continue
        key = (system.upper(), code)
        if key in seen:
            problems.append(_("“%(system)s:%(code)s” is listed twice.") % {"system": system, "code": code})
            continue
        seen.add(key)
        normalised.append({"system": system, "code": code})
    return normalised, problems


@transaction.atomic
def set_standard_codes(actor, item: CatalogItem, codes) -> CatalogItem:
    """Replace an item's standard codes (a list of {system, code}); audited as an item update."""
    require_hospital_staff(actor, item.hospital, CATALOG_EDITORS)
    item = CatalogItem.objects.select_for_update().select_related("hospital").get(pk=item.pk)
    normalised, problems = check_standard_codes(codes)
    if problems:
        raise InvalidInput(problems[0], field="standard_codes")
    before = list(item.standard_codes or [])
    if before == normalised:
        return item
    item.standard_codes = normalised
    item.save()
    record_event(
        actor,
        "catalog.item.update",
        item,
        detail={"changed": ["standard_codes"], "before": before, "after": normalised},
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
    from laihua.accounts.permissions import require_role
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


MAX_OFFSET = 10_000  # the deepest result a search lists; further is a narrower search


def search_query_from_params(params: dict, *, rate: rates.Rate | None = None) -> tuple[SearchQuery, rates.Rate]:
    """Parse public search parameters; price bounds are in the chosen currency and become CNY.

    `rate`, when the caller already holds the rate of that currency for today, saves looking it up again."""
    currency = params.get("currency") or "CNY"
    if rate is None or rate.currency != currency:
        rate = rates.display_rate(currency)
    limit = params.get("limit")
    limit = SearchQuery.limit if limit in (None, "") else limit
    offset = params.get("offset") or 0
    if not 1 <= int(limit) <= 200:
        raise InvalidInput(_("Ask for 1 to 200 results at a time."), field="limit")
    if int(offset) < 0:
        raise InvalidInput(_("The offset cannot be negative."), field="offset")
    if int(offset) > MAX_OFFSET:
        raise InvalidInput(
            _("Narrow the search: results are listed up to number %(n)s.") % {"n": MAX_OFFSET}, field="offset"
        )
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

    return sorted(published(day).filter(hospital=hospital).select_related("paid_summary"), key=order)


def paid_price(item: CatalogItem):
    """What patients actually paid for the item (PaidPriceSummary), or None below 10 closed, invoiced cases."""
    return PaidPriceSummary.objects.filter(item=item).first()


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

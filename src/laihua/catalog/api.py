from decimal import Decimal

from ninja import Query, Router, Schema, Status

from laihua.accounts.auth import AUTH
from laihua.catalog import services
from laihua.catalog.links import ItemLinks
from laihua.catalog.models import Kind
from laihua.catalog.schemas import ItemDetailOut, ItemIn, PriceIn, PriceOut, SearchOut
from laihua.hospitals.models import Hospital
from laihua.rates import services as rates

router = Router(tags=["catalog"])


class SearchParams(Schema):
    q: str = ""
    currency: str = "CNY"
    city: str = ""
    department: str = ""
    kind: str = ""
    hospital: str = ""
    price_min: Decimal | None = None
    price_max: Decimal | None = None
    sort: str = "price"
    limit: int = 20  # as a page of the search page; up to 200 on request
    offset: int = 0


def item_out(item, rate: rates.Rate | None, links: ItemLinks | None = None) -> dict:
    converted = None
    if rate is not None and item.price_min is not None:
        converted = {
            "currency": rate.currency,
            "amount_min": rates.convert_from_cny(item.price_min, rate),
            "amount_max": rates.convert_from_cny(item.price_max, rate),
            "cny_per_unit": rate.cny_per_unit,
            "rate_date": rate.rate_date,
            "rate_source": rate.source,
        }
    return {
        "id": item.pk,
        "hospital": {"slug": item.hospital.slug, "name": item.hospital.name, "city": item.hospital.city.slug},
        "code": item.code,
        "kind": item.kind,
        "department": item.department.code if item.department else None,
        "name": item.name,
        "description": item.description,
        "included": item.included,
        "excluded": item.excluded,
        "standard_codes": item.standard_codes,
        "comparable": item.comparable.key if item.comparable_id else None,
        "waiting_days": item.waiting_days,
        "duration_minutes": item.duration_minutes,
        "stay_days": item.stay_days,
        "price_cny_min": item.price_min,
        "price_cny_max": item.price_max,
        "price_effective_from": item.price_from,
        "converted": converted,
        "url": (links or ItemLinks()).of_item(item.hospital.slug, item.code),
    }


def item_detail_out(item, rate: rates.Rate | None) -> dict:
    """item_out, and for a package its components (the search results leave them out)."""
    components = None
    if item.kind == Kind.PACKAGE:
        components = [
            {"code": c.item.code, "name": c.item.name, "kind": c.item.kind, "quantity": c.quantity}
            for c in services.components_of(item)
        ]
    return {**item_out(item, rate), "components": components}


@router.get("/search", response=SearchOut, summary="Search every hospital's published catalog")
def search(request, params: Query[SearchParams]):
    query, rate = services.search_query_from_params(params.dict())
    items, total, exact = services.search(query)
    links = ItemLinks()
    return {
        "total": total,
        "total_exact": exact,
        "limit": query.limit,
        "offset": query.offset,
        "currency": rate.currency,
        "results": [item_out(item, rate, links) for item in items],
    }


@router.get("/items/{hospital}/{code}", response=ItemDetailOut, summary="One published service or package")
def get_item(request, hospital: str, code: str, currency: str = "CNY"):
    rate = rates.rate_for(currency)
    return item_detail_out(services.published_item(hospital, code), rate)


@router.post(
    "/manage/items", response={201: ItemDetailOut}, auth=AUTH, summary="Add an item to your hospital's catalog"
)
def create_item(request, payload: ItemIn):
    hospital = Hospital.objects.get(pk=request.auth.hospital_id) if request.auth.hospital_id else None
    services.require_editor(request.auth, hospital)
    item = services.save_item(request.auth, hospital, services.item_form_data(hospital, payload.dict()))
    return Status(201, item_detail_out(services.item_with_current_price(item.pk), None))


@router.put("/manage/items/{item_id}", response=ItemDetailOut, auth=AUTH, summary="Change an item of your catalog")
def update_item(request, item_id: int, payload: ItemIn):
    item = services.get_editable_item(request.auth, item_id)
    item = services.save_item(
        request.auth, item.hospital, services.item_form_data(item.hospital, payload.dict()), item=item
    )
    return item_detail_out(services.item_with_current_price(item.pk), None)


@router.post(
    "/manage/items/{item_id}/prices",
    response={201: PriceOut},
    auth=AUTH,
    summary="Set a new price from a date on (history is kept)",
)
def add_price(request, item_id: int, payload: PriceIn):
    item = services.get_editable_item(request.auth, item_id)
    price = services.set_price(request.auth, item, {k: v for k, v in payload.dict().items() if v is not None})
    return Status(201, price)


@router.get("/manage/items/{item_id}/prices", response=list[PriceOut], auth=AUTH, summary="An item's price history")
def list_prices(request, item_id: int):
    item = services.get_editable_item(request.auth, item_id)
    return list(services.price_history(item))

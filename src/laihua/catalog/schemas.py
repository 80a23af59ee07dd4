import datetime
from decimal import Decimal

from ninja import Schema
from pydantic import BaseModel, Field

# The output schemas below are plain pydantic models: the API builds their data as dicts (api.item_out),
# and pydantic validates dicts several times faster than ninja's Schema, which reads each value through
# a getter meant for model instances (a search answer holds up to 200 items).


class HospitalRef(BaseModel):
    slug: str
    name: dict[str, str]
    city: str


class Converted(BaseModel):
    currency: str
    amount_min: Decimal
    amount_max: Decimal
    cny_per_unit: Decimal
    rate_date: datetime.date
    rate_source: str


class ItemOut(BaseModel):
    id: int
    hospital: HospitalRef
    code: str
    kind: str
    department: str | None
    name: dict[str, str]
    description: dict[str, str]
    included: dict[str, str]
    excluded: dict[str, str]
    standard_codes: list[dict[str, str]]
    comparable: str | None
    waiting_days: int
    duration_minutes: int | None
    stay_days: int | None
    price_cny_min: Decimal | None
    price_cny_max: Decimal | None
    price_effective_from: datetime.date | None
    converted: Converted | None
    url: str


class ComponentOut(BaseModel):
    code: str
    name: dict[str, str]
    kind: str
    quantity: int


class ItemDetailOut(ItemOut):
    """One item: a search result's fields, and for a package the services it contains (null otherwise)."""

    components: list[ComponentOut] | None


class SearchOut(BaseModel):
    total: int = Field(
        description="The number of matches, counted up to 1,000 (or to the end of the page asked for, when that "
        "is deeper): when `total_exact` is false there are more."
    )
    total_exact: bool = Field(description="Whether `total` is every match (false: at least `total`).")
    limit: int
    offset: int
    currency: str
    results: list[ItemOut]


class ComponentIn(Schema):
    code: str
    quantity: int = 1


class StandardCodeIn(Schema):
    system: str
    code: str


class ItemIn(Schema):
    code: str
    kind: str
    department: str | None = None
    name: dict[str, str]
    description: dict[str, str] = {}
    included: dict[str, str] = {}
    excluded: dict[str, str] = {}
    keywords: str = ""
    comparable: str | None = None
    waiting_days: int = 0
    duration_minutes: int | None = None
    stay_days: int | None = None
    active: bool = True
    # Left out (null): kept as they are. A list replaces them; [] removes them all.
    standard_codes: list[StandardCodeIn] | None = None
    components: list[ComponentIn] | None = None  # packages only


class PriceIn(Schema):
    effective_from: datetime.date
    amount_min: Decimal
    amount_max: Decimal | None = None


class PriceOut(Schema):
    effective_from: datetime.date
    amount_min: Decimal
    amount_max: Decimal
    currency: str

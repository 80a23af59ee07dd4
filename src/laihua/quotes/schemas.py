import datetime
from decimal import Decimal

from ninja import Schema


class LineIn(Schema):
    """A catalog service or package (`item`, its id) or, without `item`, a line priced by hand."""

    item: int | None = None
    quantity: int = 1
    unit_price: Decimal | None = None
    discount_percent: Decimal | None = None
    discount_amount: Decimal | None = None
    discount_reason: str = ""
    code: str = ""
    description: dict[str, str] | None = None
    excluded: dict[str, str] | None = None


class LinePatch(Schema):
    quantity: int | None = None
    unit_price: Decimal | None = None
    discount_percent: Decimal | None = None
    discount_amount: Decimal | None = None
    discount_reason: str | None = None
    code: str | None = None
    description: dict[str, str] | None = None
    excluded: dict[str, str] | None = None


class TermsIn(Schema):
    valid_until: datetime.date | None = None
    deposit: Decimal | None = None
    currency: str | None = None
    notes: dict[str, str] | None = None
    exclusions: dict[str, str] | None = None


class QuoteIn(TermsIn):
    case: str
    lines: list[LineIn] = []


class DeclineIn(Schema):
    reason: str


class RateOut(Schema):
    currency: str
    cny_per_unit: Decimal
    rate_date: datetime.date
    source: str
    frozen: bool


class LineOut(Schema):
    id: int
    position: int
    item: int | None
    manual: bool
    package: bool
    code: str
    description: dict[str, str]
    included: dict[str, str]
    excluded: dict[str, str]
    components: list[dict]
    quantity: int
    catalog_price_min: Decimal | None
    catalog_price_max: Decimal | None
    unit_price_cny: Decimal
    discount_percent: Decimal | None
    discount_amount_cny: Decimal | None
    discount_reason: str
    gross_cny: Decimal
    discount_cny: Decimal
    amount_cny: Decimal


class QuoteOut(Schema):
    id: int
    number: str
    case: str
    revision: int
    revises: str | None
    status: str
    quote_date: datetime.date
    valid_until: datetime.date | None
    currency: str
    language: str
    total_cny: Decimal
    deposit_cny: Decimal
    total_converted: Decimal | None
    deposit_converted: Decimal | None
    rate: RateOut | None
    rate_error: str | None
    notes: dict[str, str]
    exclusions: dict[str, str]
    lines: list[LineOut]
    created_at: datetime.datetime
    sent_at: datetime.datetime | None
    accepted_at: datetime.datetime | None
    accepted_ip: str | None
    declined_at: datetime.datetime | None
    decline_reason: str
    expired_at: datetime.datetime | None
    superseded_at: datetime.datetime | None
    url: str
    pdf: str

import datetime
from decimal import Decimal

from ninja import Router, Schema

from laihua.rates import services

router = Router(tags=["rates"])


class ConversionOut(Schema):
    amount_cny: Decimal
    amount: Decimal
    currency: str
    cny_per_unit: Decimal
    rate_date: datetime.date
    rate_source: str


@router.get("/convert", response=ConversionOut, summary="Convert a CNY amount at the dated rate")
def convert(request, amount: Decimal, currency: str, date: datetime.date | None = None):
    from laihua.kit.money import parse_amount

    amount_cny = parse_amount(amount, field="amount")
    result = services.convert(amount_cny, currency, date)
    return {
        "amount_cny": amount_cny,
        "amount": result.amount,
        "currency": result.currency,
        "cny_per_unit": result.rate.cny_per_unit,
        "rate_date": result.rate.rate_date,
        "rate_source": result.rate.source,
    }

"""The demo's base: its hospitals with their departments and catalogs, one account per role, and the rates.

Everything is read from the data files (demo.yaml, hospitals/<code>.yaml, catalog.yaml, people.yaml,
rates.yaml) when this module is imported, so a bad file is refused before anything is written. All of it is
invented and labelled as demo (`is_demo`, "Demo"/"示范" in every name) except the reference prices abroad,
which come from the shipped, sourced data (catalog.reference_data). Loading twice is harmless: rows are
found by slug, code or username and brought back to the data; prices are added only when missing, so the
price history is never rewritten.
"""

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib.auth import password_validation

from laihua.accounts.models import User
from laihua.catalog import reference_data
from laihua.catalog.models import CatalogItem, ComparableService, PackageComponent, Price
from laihua.demo import datafiles
from laihua.hospitals.models import City, Department, Hospital
from laihua.kit import clock
from laihua.rates import services as rates
from laihua.rates.models import ExchangeRate


@dataclass(frozen=True)
class DemoHospital:
    code: str  # the short code: its data file's name, its staff's usernames
    slug: str
    prefix: str  # the hospital's own item codes start with it
    city: dict  # {"code", "name"}
    name: dict
    address: dict
    description: dict
    website: str
    accreditations: tuple[str, ...]
    languages: tuple[str, ...]
    intl_department: dict
    intl_phone: str
    intl_email: str
    intl_hours: dict
    extra_waiting_days: int  # days added to every waiting time
    prices: dict  # service code -> price in CNY, or [lowest, highest]; a service without a price is not offered
    pilot: bool = False  # named by its city as a pilot hospital

    def item_code(self, service_code: str) -> str:
        return f"{self.prefix}-{service_code}"


@dataclass(frozen=True)
class DemoService:
    code: str
    kind: str
    department: str
    name: dict
    description: dict
    included: dict
    keywords: str
    excluded: dict = field(default_factory=dict)
    comparable: str | None = None
    waiting_days: int = 0
    duration_minutes: int | None = None
    stay_days: int | None = None
    standard_codes: tuple[dict, ...] = ()
    components: dict = field(default_factory=dict)  # service code -> quantity
    no_previous_price: bool = False  # new with the current prices


@dataclass(frozen=True)
class DemoUser:
    username: str
    role: str
    hospital: str | None  # the hospital's short code
    first_name: str
    last_name: str


def _read_catalog() -> tuple[dict, tuple[DemoService, ...]]:
    catalog = datafiles.read("catalog")
    departments, services = catalog["departments"], []
    for index, entry in enumerate(catalog["services"]):
        datafiles.require("catalog", ["services", index, "department"], entry["department"], departments)
        services.append(DemoService(**{**entry, "standard_codes": tuple(entry.get("standard_codes", ()))}))
    codes = [service.code for service in services]
    for index, service in enumerate(services):
        for code in service.components:
            datafiles.require("catalog", ["services", index, "components", code], code, codes)
    return departments, tuple(services)


def _read_hospital(code: str, services: tuple[DemoService, ...]) -> DemoHospital:
    data = datafiles.read("hospital", code)
    for service_code in data["prices"]:
        datafiles.require("hospital", ["prices", service_code], service_code, [s.code for s in services], code=code)
    return DemoHospital(
        code=code,
        **{key: tuple(value) if isinstance(value, list) else value for key, value in data.items() if key != "prices"},
        prices=data["prices"],
    )


_DEMO = datafiles.read("demo")
DEPARTMENTS, SERVICES = _read_catalog()
HOSPITALS = tuple(_read_hospital(code, SERVICES) for code in _DEMO["hospitals"])
BY_CODE = {spec.code: spec for spec in HOSPITALS}
CURRENT_PRICES_FROM = datetime.date.fromisoformat(_DEMO["prices"]["current_from"])
OLD_PRICES_FROM = datetime.date.fromisoformat(_DEMO["prices"]["previous_from"])

_PEOPLE = datafiles.read("people")
DEMO_PASSWORD = _PEOPLE["password"]
USERS = (
    *(DemoUser(hospital=None, **account) for account in _PEOPLE["accounts"]),
    *(
        DemoUser(f"{code}-{staff['suffix']}", staff["role"], code, code.title(), staff["last_name"])
        for code in BY_CODE
        for staff in _PEOPLE["staff"]
    ),
)

_RATES = datafiles.read("rates")
DEMO_RATE_SOURCE = _RATES["source"]
DEMO_RATE_AGE_DAYS = _RATES["age_days"]
USD_PEGS = {currency: Decimal(per_usd) for currency, per_usd in _RATES["usd_pegs"].items()}
DEMO_RATES = {currency: Decimal(cny) for currency, cny in _RATES["cny_per_unit"].items()}


@dataclass
class DemoSummary:
    hospitals: int = 0
    users_created: int = 0
    items: int = 0
    prices_created: int = 0
    rates_created: int = 0
    reference: reference_data.LoadSummary = field(default_factory=reference_data.LoadSummary)


def load_hospital(spec: DemoHospital) -> Hospital:
    """The hospital and the departments of what it offers, brought back to the data."""
    city = City.objects.get_or_create(slug=spec.city["code"], defaults={"name": spec.city["name"]})[0]
    hospital, _created = Hospital.objects.update_or_create(
        slug=spec.slug,
        defaults={
            "name": spec.name,
            "city": city,
            "address": spec.address,
            "description": spec.description,
            "website": spec.website,
            "accreditations": list(spec.accreditations),
            "languages": list(spec.languages),
            "intl_department": spec.intl_department,
            "intl_phone": spec.intl_phone,
            "intl_email": spec.intl_email,
            "intl_hours": spec.intl_hours,
            "is_demo": True,
            "pilot": spec.pilot,
        },
    )
    offered = {service.department for service in SERVICES if service.code in spec.prices}
    for code in sorted(offered):
        Department.objects.update_or_create(hospital=hospital, code=code, defaults={"name": DEPARTMENTS[code]})
    return hospital


def _price_steps(price) -> tuple[Decimal, Decimal]:
    low, high = price if isinstance(price, list) else (price, price)
    return Decimal(low), Decimal(high)


def _older(amount: Decimal) -> Decimal:
    """Last year's price: about 8% lower, rounded to 10 yuan (to 1 yuan below 100)."""
    step = Decimal(10) if amount >= 100 else Decimal(1)
    return (amount * Decimal("0.92") / step).quantize(Decimal(1)) * step


def _prices(item: CatalogItem, service: DemoService, price, summary: DemoSummary) -> None:
    low, high = _price_steps(price)
    history = [(CURRENT_PRICES_FROM, low, high)]
    if not service.no_previous_price:
        history.append((OLD_PRICES_FROM, _older(low), _older(high)))
    for start, amount_min, amount_max in history:
        _price, created = Price.objects.get_or_create(
            item=item, effective_from=start, defaults={"amount_min": amount_min, "amount_max": amount_max}
        )
        summary.prices_created += created


def load_catalog(spec: DemoHospital, hospital: Hospital, summary: DemoSummary) -> None:
    """The hospital's items, their price history and the packages' components."""
    departments = {department.code: department for department in hospital.departments.all()}
    comparables = {service.key: service for service in ComparableService.objects.all()}
    items: dict[str, CatalogItem] = {}
    for service in SERVICES:
        price = spec.prices.get(service.code)
        if price is None:
            continue
        item, _created = CatalogItem.objects.update_or_create(
            hospital=hospital,
            code=spec.item_code(service.code),
            defaults={
                "kind": service.kind,
                "department": departments[service.department],
                "name": service.name,
                "description": service.description,
                "included": service.included,
                "excluded": {k: v for k, v in service.excluded.items() if v},
                "keywords": service.keywords,
                "comparable": comparables.get(service.comparable) if service.comparable else None,
                "standard_codes": [dict(code) for code in service.standard_codes],
                "waiting_days": service.waiting_days + spec.extra_waiting_days if service.waiting_days else 0,
                "duration_minutes": service.duration_minutes,
                "stay_days": service.stay_days,
                "active": True,
            },
        )
        items[service.code] = item
        _prices(item, service, price, summary)
        summary.items += 1
    for service in SERVICES:
        if service.code not in items:
            continue
        for component, quantity in service.components.items():
            PackageComponent.objects.update_or_create(
                package=items[service.code], item=items[component], defaults={"quantity": quantity}
            )


def load_users(hospitals: dict[str, Hospital], summary: DemoSummary) -> None:
    """Every demo account, brought back to the data; a new one gets the demo password, a password changed is kept."""
    for spec in USERS:
        user = User.objects.filter(username=spec.username).first()
        created = user is None
        if created:
            user = User(username=spec.username)
        user.role = spec.role
        user.hospital = hospitals[spec.hospital] if spec.hospital else None
        user.first_name, user.last_name = spec.first_name, spec.last_name
        user.email = f"{spec.username}@demo.example"
        user.is_active = True
        if created:
            password_validation.validate_password(DEMO_PASSWORD, user)
            user.set_password(DEMO_PASSWORD)
            summary.users_created += 1
        user.save()


def load_rates(summary: DemoSummary) -> None:
    """Table rates for the currencies of rates.yaml, unless the table already has a recent one."""
    day = clock.today() - datetime.timedelta(days=DEMO_RATE_AGE_DAYS)
    recent = day - datetime.timedelta(days=rates.max_age_days() // 2)
    wanted = dict(DEMO_RATES)
    try:
        usd = rates.rate_for("USD", day)
    except rates.RateUnavailable:
        usd = None  # without a dollar rate the pegged currencies have none either
    for currency, per_usd in USD_PEGS.items():
        if usd is not None:
            wanted[currency] = (usd.cny_per_unit / per_usd).quantize(Decimal("0.00000001"))
    for currency, cny_per_unit in sorted(wanted.items()):
        if ExchangeRate.objects.filter(currency=currency, rate_date__gte=recent).exists():
            continue
        source = DEMO_RATE_SOURCE
        if currency in USD_PEGS:
            source = f"{DEMO_RATE_SOURCE} (ECB US dollar rate and the {currency} peg)"
        ExchangeRate.objects.create(currency=currency, rate_date=day, cny_per_unit=cny_per_unit, source=source)
        summary.rates_created += 1

"""The columns of the tall CSV layout, shared by its writer and its reader. Headers are written as in
the CMS example ("standard_charge | gross") and read without regard to case or to spaces around the
pipes."""

from decimal import Decimal

from laihua.catalog.pricefiles.rows import PriceRow

GENERAL_EXTRA_COLUMNS = [
    "hospital_name_zh_hans",
    "hospital_address_zh_hans",
    "currency",
    "publisher_statement",
]
CHARGE_COLUMNS = [
    "setting",
    "drug_unit_of_measurement",
    "drug_type_of_measurement",
    "standard_charge | gross",
    "standard_charge | discounted_cash",
    "payer_name",
    "plan_name",
    "modifiers",
    "standard_charge | negotiated_dollar",
    "standard_charge | negotiated_percentage",
    "standard_charge | negotiated_algorithm",
    "median_amount",
    "10th_percentile",
    "90th_percentile",
    "count",
    "standard_charge | min",
    "standard_charge | max",
    "standard_charge | methodology",
    "additional_generic_notes",
]
# CMS columns for payer-specific charges, cash discounts, modifiers and drugs: Laihua publishes gross
# charges only, so an import refuses a value in any of them rather than drop it unseen.
NOT_IMPORTED_COLUMNS = [
    "drug_unit_of_measurement",
    "drug_type_of_measurement",
    "standard_charge | discounted_cash",
    "payer_name",
    "plan_name",
    "modifiers",
    "standard_charge | negotiated_dollar",
    "standard_charge | negotiated_percentage",
    "standard_charge | negotiated_algorithm",
    "median_amount",
    "10th_percentile",
    "90th_percentile",
    "count",
    "standard_charge | methodology",
]
EXTRA_COLUMNS = list(PriceRow("", "", {}, Decimal(0), Decimal(0)).extension())
GROSS, MIN, MAX = "standard_charge | gross", "standard_charge | min", "standard_charge | max"
# The columns that state a free item (cms.FREE_CHARGE): the one payer-specific charge Laihua writes and reads.
FREE_CHARGE_COLUMNS = {
    "payer_name": "payer_name",
    "plan_name": "plan_name",
    "methodology": "standard_charge | methodology",
    "algorithm": "standard_charge | negotiated_algorithm",
    "count": "count",
}
COMPONENTS = "package_components"
# Files written before packages listed their services have no package_components column: their
# packages keep the services they list.
OPTIONAL_EXTRA_COLUMNS = (COMPONENTS,)
REQUIRED_ITEM_COLUMNS = [
    "description",
    "code | 1",
    "code | 1 | type",
    "setting",
    GROSS,
    MIN,
    MAX,
    *(column for column in EXTRA_COLUMNS if column not in OPTIONAL_EXTRA_COLUMNS),
]
SETTINGS = ("inpatient", "outpatient", "both")
DATA_START_ROW = 4


def column_key(header: str) -> str:
    return " | ".join(part.strip() for part in (header or "").split("|")).strip().lower()

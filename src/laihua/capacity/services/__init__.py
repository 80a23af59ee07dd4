"""Capacity services: the 10% rule, booking that can never exceed it, the waitlist, resources and utilisation.

- quota: the rule's arithmetic (day and month caps, Capacities), what a service takes, and the IntlUsage
  counters that a booking locks and takes
- booking: book_service, a case's bookings, cancel_booking, the nearest days with room
- waitlist: joining and leaving it, and the freed places handed to waiting cases
- over_cap: the bookings over a lowered cap, for the coordinator to resolve
- resources: resources, capacity and share, capacity days by CSV, what services take
- reporting: utilisation by day and month, the reported metrics, the CSV export, the platform overview

Callers use this package (`from laihua.capacity import services`) or one of its modules.
"""

from laihua.capacity.models import MAX_CAPACITY, MAX_USAGE_DAYS, MAX_USAGE_OFFSET, MAX_USAGE_UNITS
from laihua.capacity.services.booking import (
    RESERVED_KEY_PREFIXES,
    SEARCH_DAYS,
    book_service,
    cancel_booking,
    case_bookings,
    get_booking,
    nearest_days_with_room,
)
from laihua.capacity.services.over_cap import OverCap, hospital_over_cap, over_cap_bookings
from laihua.capacity.services.quota import (
    BOOKABLE_STATES,
    BOOKERS,
    CAPACITY_EDITORS,
    MAX_DAYS_AHEAD,
    READERS,
    Capacities,
    QuotaFull,
    cap_of,
    effective_share,
    last_bookable_day,
    max_share,
    month_days,
    month_start,
    plan_for,
)
from laihua.capacity.services.reporting import (
    FIRST_REPORT_YEAR,
    LAST_REPORT_YEAR,
    WARN_AT,
    booked_units,
    level_of,
    metrics_of,
    parse_month,
    platform_overview,
    reported_units,
    set_reported_units,
    units_present,
    utilisation,
    utilisation_csv,
)
from laihua.capacity.services.resources import (
    CSV_COLUMNS,
    MAX_CSV_ROWS,
    closures_of,
    create_resource,
    get_resource,
    get_usage,
    import_capacity_csv,
    remove_usage,
    resources_of,
    set_capacity,
    set_share,
    set_usage,
    update_resource,
    usages_of,
)
from laihua.capacity.services.waitlist import (
    case_waitlist,
    get_waitlist_entry,
    join_waitlist,
    leave_waitlist,
    offer_freed_places,
    offer_places,
    offer_waiting_places,
    waitlist_of,
)

__all__ = [
    # bounds and roles
    "BOOKABLE_STATES",
    "BOOKERS",
    "CAPACITY_EDITORS",
    "CSV_COLUMNS",
    "FIRST_REPORT_YEAR",
    "LAST_REPORT_YEAR",
    "MAX_CAPACITY",
    "MAX_CSV_ROWS",
    "MAX_DAYS_AHEAD",
    "MAX_USAGE_DAYS",
    "MAX_USAGE_OFFSET",
    "MAX_USAGE_UNITS",
    "READERS",
    "RESERVED_KEY_PREFIXES",
    "SEARCH_DAYS",
    "WARN_AT",
    # quota
    "Capacities",
    "QuotaFull",
    "cap_of",
    "effective_share",
    "last_bookable_day",
    "max_share",
    "month_days",
    "month_start",
    "plan_for",
    # booking
    "book_service",
    "cancel_booking",
    "case_bookings",
    "get_booking",
    "nearest_days_with_room",
    # waitlist
    "case_waitlist",
    "get_waitlist_entry",
    "join_waitlist",
    "leave_waitlist",
    "offer_freed_places",
    "offer_places",
    "offer_waiting_places",
    "waitlist_of",
    # over the cap
    "OverCap",
    "hospital_over_cap",
    "over_cap_bookings",
    # resources
    "closures_of",
    "create_resource",
    "get_resource",
    "get_usage",
    "import_capacity_csv",
    "remove_usage",
    "resources_of",
    "set_capacity",
    "set_share",
    "set_usage",
    "update_resource",
    "usages_of",
    # reporting
    "booked_units",
    "level_of",
    "metrics_of",
    "parse_month",
    "platform_overview",
    "reported_units",
    "set_reported_units",
    "units_present",
    "utilisation",
    "utilisation_csv",
]

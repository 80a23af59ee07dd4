"""Where planning meets the patient's stay (travel): kept apart from the planner's steps.

- `check_stay_limit`: every plan and re-plan is checked against the patient's permitted stay (the entry
  route's limit from the day of entry, or an extension granted); one that leaves after it is refused,
  naming the limit and how to extend the stay (travel.services.check_departure).
- `booked_trip_dates`: answers travel's `booked_trip` question with the confirmed itinerary's dates, so that
  the entry check, the invitation letter and the GOP follow the booked trip (connected in apps.py).
"""

import datetime

from laihua.cases.models import Case
from laihua.planning.models import Itinerary, ItineraryStatus
from laihua.travel.services import check_departure


def check_stay_limit(case: Case, arrival: datetime.date, departure: datetime.date, *, route: str = "") -> None:
    """Refuse (travel's StayLimitExceeded, on the stay limit field) a plan that leaves after the permitted stay."""
    check_departure(case, arrival, departure, route=route or None, field="stay_limit")


def booked_trip_dates(sender, case: Case, **kwargs) -> tuple[datetime.date, datetime.date] | None:
    """The confirmed itinerary's arrival and departure, or None while no trip is booked."""
    booked = (
        Itinerary.objects.filter(case=case, status=ItineraryStatus.ACTIVE, arrival__isnull=False)
        .order_by("-confirmed_at", "-pk")
        .values_list("arrival", "departure")
        .first()
    )
    return tuple(booked) if booked else None

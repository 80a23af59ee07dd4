"""The GOP request follows the trip's booked dates; one sent for other dates is flagged to be sent again."""

import datetime

import pytest
from django.urls import reverse

from laihua.insurance import services
from laihua.travel import services as travel

from .conftest import GOP_DATA

pytestmark = pytest.mark.django_db


def fly(coordinator, case, arrival: datetime.date, departure: datetime.date):
    travel.save_flight(
        coordinator,
        case,
        {
            "direction": "in",
            "number": "LH728",
            "from_airport": "FRA",
            "departs": f"{arrival - datetime.timedelta(days=1)}T18:00",
            "to_airport": "PVG",
            "arrives": f"{arrival}T11:00",
        },
    )
    travel.save_flight(
        coordinator,
        case,
        {
            "direction": "out",
            "number": "LH729",
            "from_airport": "PVG",
            "departs": f"{departure}T13:00",
            "to_airport": "FRA",
            "arrives": f"{departure}T19:00",
        },
    )


def test_a_sent_gop_whose_dates_no_longer_match_the_booked_trip_is_flagged(client, gop, users):
    case = gop.case
    assert (gop.planned_start, gop.planned_end) == (case.desired_arrival, case.desired_departure)
    assert services.gop_dates_changed(gop) is None
    arrival, departure = case.desired_arrival + datetime.timedelta(days=3), case.desired_departure
    fly(users["coordinator"], case, arrival, departure)
    changed = services.gop_dates_changed(gop)
    assert (changed.arrival, changed.departure) == (arrival, departure)
    assert services.planned_dates(case) == (arrival, departure)
    client.force_login(users["coordinator"])
    page = client.get(reverse("cases:detail", args=[case.reference])).content.decode()
    assert f'id="gop-{gop.number}-reissue"' in page
    client.force_login(users["patient"])
    assert "-reissue" not in client.get(reverse("cases:detail", args=[case.reference])).content.decode()


def test_a_new_gop_request_is_built_from_the_booked_dates(coverage, users, agent):
    case = coverage.case
    arrival, departure = case.desired_arrival + datetime.timedelta(days=1), case.desired_departure
    fly(users["coordinator"], case, arrival, departure)
    gop = services.send_guarantee_request(users["coordinator"], case, GOP_DATA)
    assert (gop.planned_start, gop.planned_end) == (arrival, departure)
    assert services.gop_dates_changed(gop) is None

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from laihua.planning import services

from .conftest import inputs

pytestmark = pytest.mark.django_db


def test_plan_prints_the_itinerary_and_replans(users, trip_case, arrival):
    out = io.StringIO()
    call_command("plan", trip_case.reference, stdout=out)
    assert "No itinerary yet." in out.getvalue()
    services.plan_case(users["coordinator"], trip_case, inputs(arrival))
    out = io.StringIO()
    call_command("plan", trip_case.reference, stdout=out)
    text = out.getvalue()
    assert f"{trip_case.reference}: {arrival}" in text and "MRI of the knee" in text and "Arrival in China" in text
    out = io.StringIO()
    call_command("plan", trip_case.reference, "--replan", "--as", "east-coord", stdout=out)
    assert trip_case.itineraries.count() == 2 and "Knee arthroscopy" in out.getvalue()
    with pytest.raises(CommandError):
        call_command("plan", trip_case.reference, "--replan", "--as", "west-coord")
    with pytest.raises(CommandError):
        call_command("plan", "LH-0000-999999")

import datetime

import pytest
from django.urls import reverse

from laihua.capacity.models import Booking
from laihua.planning.models import Itinerary, ItineraryStatus

pytestmark = pytest.mark.django_db


ORDERS = [
    ("CON-ORTH", "RAD-MRI", 0),
    ("CON-ORTH", "LAB-CBC", 0),
    ("RAD-MRI", "ORTH-ARTHRO", 1),
    ("LAB-CBC", "ORTH-ARTHRO", 1),
]


def form(arrival, **extra):
    """The plan form as the page posts it, with the catalog's clinical orders."""
    data = {
        "earliest_arrival": arrival.isoformat(),
        "latest_departure": (arrival + datetime.timedelta(days=20)).isoformat(),
        "route": "",
        "stay_limit": "30",
        "visits_per_day": "3",
        "rest_days": "",
        "order_count": str(len(ORDERS)),
    }
    for n, (before, after, low) in enumerate(ORDERS):
        data.update({f"order-{n}-before": before, f"order-{n}-after": after, f"order-{n}-min": str(low)})
    data.update(extra)
    return data


def test_the_coordinator_plans_from_the_case_page_and_confirms(client, users, trip_case, arrival):
    client.force_login(users["coordinator"])
    case_page = client.get(reverse("cases:detail", args=[trip_case.reference])).content.decode()
    url = reverse("planning:case", args=[trip_case.reference])
    assert url in case_page
    page = client.get(url).content.decode()
    assert 'id="plan-form"' in page and arrival.isoformat() in page  # the desired arrival is prefilled
    assert "RAD-MRI" in page  # the catalog's clinical orders are prefilled
    response = client.post(reverse("planning:plan", args=[trip_case.reference]), form(arrival), follow=True)
    page = response.content.decode()
    assert "Trip planned: 4 days in China." in page and "MRI of the knee" in page
    assert 'id="comparison"' in page
    itinerary = Itinerary.objects.get()
    assert itinerary.orders == [{"before": b, "after": a, "min": m, "max": None} for b, a, m in ORDERS]
    client.post(reverse("planning:confirm", args=[itinerary.pk]), follow=True)
    itinerary.refresh_from_db()
    assert itinerary.status == ItineraryStatus.ACTIVE and Booking.objects.filter(case=trip_case).count() == 5


def test_the_coordinator_drops_and_adds_orders_on_the_form(client, users, trip_case, arrival):
    client.force_login(users["coordinator"])
    data = form(arrival, **{"order-2-drop": "1", "order-4-before": "CON-ORTH", "order-4-after": "ORTH-ARTHRO"})
    data.update({"order-4-min": "5", "order-4-max": "6"})
    client.post(reverse("planning:plan", args=[trip_case.reference]), data)
    itinerary = Itinerary.objects.get()
    assert {"before": "CON-ORTH", "after": "ORTH-ARTHRO", "min": 5, "max": 6} in itinerary.orders
    assert not any(o["before"] == "RAD-MRI" for o in itinerary.orders)
    days = {row.item.code: row.day for row in itinerary.items.filter(kind="visit")}
    assert (days["ORTH-ARTHRO"] - days["CON-ORTH"]).days == 5


def test_form_errors_are_shown_and_nothing_is_saved(client, users, trip_case, arrival):
    client.force_login(users["coordinator"])
    response = client.post(
        reverse("planning:plan", args=[trip_case.reference]), form(arrival, visits_per_day="0", stay_limit="12")
    )
    page = response.content.decode()
    assert response.status_code == 422
    assert "Hospital visits a day, at most: Give a whole number from 1 to 8." in page
    assert 'name="stay_limit" min="1" max="365" value="12"' in page  # what was typed is shown again
    assert not Itinerary.objects.exists()


def test_an_infeasible_plan_shows_the_reasons(client, users, trip_case, arrival):
    client.force_login(users["coordinator"])
    response = client.post(
        reverse("planning:plan", args=[trip_case.reference]), form(arrival, stay_limit="2"), follow=True
    )
    page = response.content.decode()
    assert 'id="no-plan"' in page and "limit by 2 day(s)" in page


def test_the_patient_sees_the_itinerary_without_the_planner(client, users, trip_case, arrival):
    client.force_login(users["coordinator"])
    client.post(reverse("planning:plan", args=[trip_case.reference]), form(arrival))
    client.force_login(users["patient"])
    page = client.get(reverse("planning:case", args=[trip_case.reference])).content.decode()
    assert "Your trip" in page and "MRI of the knee" in page and 'id="download-ics"' in page
    assert 'id="plan-form"' not in page and 'id="confirm-trip"' not in page and 'id="comparison"' not in page
    itinerary = Itinerary.objects.get()
    assert client.get(reverse("planning:ics", args=[itinerary.pk])).status_code == 200
    assert client.post(reverse("planning:confirm", args=[itinerary.pk])).status_code == 403


def test_refusals(client, users, trip_case, arrival, other_patient):
    client.force_login(users["coordinator"])
    client.post(reverse("planning:plan", args=[trip_case.reference]), form(arrival))
    itinerary = Itinerary.objects.get()
    for user in (users["other_coordinator"], other_patient.user):
        client.force_login(user)
        assert client.get(reverse("planning:case", args=[trip_case.reference])).status_code == 404
        assert client.get(reverse("planning:pdf", args=[itinerary.pk])).status_code == 404
        assert client.get(reverse("planning:ics", args=[itinerary.pk])).status_code == 404
        assert client.post(reverse("planning:confirm", args=[itinerary.pk])).status_code == 404
        assert client.post(reverse("planning:plan", args=[trip_case.reference]), form(arrival)).status_code == 404
    client.force_login(users["clinician"])
    assert client.post(reverse("planning:plan", args=[trip_case.reference]), form(arrival)).status_code == 403
    assert Itinerary.objects.count() == 1


def test_the_page_renders_in_chinese(client, users, trip_case, arrival):
    client.force_login(users["coordinator"])
    client.post(reverse("planning:plan", args=[trip_case.reference]), form(arrival))
    client.force_login(users["patient"])
    page = client.get(f"/zh-hans/planning/cases/{trip_case.reference}/")
    assert page.status_code == 200
    assert "膝关节磁共振" in page.content.decode()

"""The hospital-wide share is reported on the metrics the hospital's admin chooses (beds, visits, ...)."""

import pytest
from django.urls import reverse

from laihua.audit.models import AuditEvent
from laihua.capacity import services
from laihua.errors import InvalidInput, PermissionDenied

from .conftest import make_resource
from .test_api import API, auth

pytestmark = pytest.mark.django_db


@pytest.fixture
def three_units(hospital, scanner):
    """Slots (the MRI), bed-days and visits."""
    make_resource(hospital, "beds", "bed", "bed_day", daily_capacity=50)
    make_resource(hospital, "clinics", "clinic_session", "visit", daily_capacity=300)
    return scanner


def by_unit(report):
    return [row["unit"] for row in report["by_unit"]]


def test_by_default_every_unit_present_is_reported(users, hospital, three_units, day):
    report = services.utilisation(users["coordinator"], hospital, day)
    assert by_unit(report) == ["visit", "slot", "bed_day"]  # in the order of the units
    assert services.reported_units(hospital) == ["visit", "slot", "bed_day"]


def test_the_admin_chooses_the_metrics_and_only_those_are_reported(users, hospital, three_units, day):
    chosen = services.set_reported_units(users["hospital_admin"], hospital, ["bed_day", "visit", "bed_day"])
    assert chosen == ["visit", "bed_day"]
    report = services.utilisation(users["coordinator"], hospital, day)
    assert by_unit(report) == ["visit", "bed_day"]
    assert report["metrics_chosen"] is True
    assert AuditEvent.objects.filter(action="capacity.metrics").count() == 1
    # The per-resource figures are unchanged: every resource is still shown.
    assert [entry["resource"].code for entry in report["resources"]] == ["beds", "clinics", "mri-1"]


def test_a_unit_without_a_resource_or_an_unknown_one_or_none_is_refused(users, hospital, scanner):
    admin = users["hospital_admin"]
    for units in (["bed_day"], ["furlongs"], [], "slot"):
        with pytest.raises(InvalidInput) as refused:
            services.set_reported_units(admin, hospital, units)
        assert refused.value.field == "units"
    assert services.reported_units(hospital) == ["slot"]


@pytest.mark.parametrize("who", ["coordinator", "other_admin", "clinician", "patient", "platform_admin"])
def test_only_the_hospitals_own_admin_changes_the_metrics(users, hospital, three_units, who):
    with pytest.raises(PermissionDenied):
        services.set_reported_units(users[who], hospital, ["slot"])
    assert services.reported_units(hospital) == ["visit", "slot", "bed_day"]


def test_a_chosen_metric_whose_resources_are_all_inactive_is_shown_empty(users, hospital, three_units, day):
    services.set_reported_units(users["hospital_admin"], hospital, ["bed_day"])
    hospital.resources.filter(unit="bed_day").update(active=False)
    report = services.utilisation(users["coordinator"], hospital, day)
    assert report["by_unit"] == [
        {"unit": "bed_day", "unit_label": "bed-days", "capacity": 0, "booked": 0, "share_of_capacity": None}
    ]


def test_the_metrics_over_the_api(client, users, hospital, three_units, day):
    url = f"{API}/metrics"
    got = client.get(url, **auth(users["coordinator"])).json()
    assert got == {"units": ["visit", "slot", "bed_day"], "present": ["visit", "slot", "bed_day"], "chosen": False}
    refused = client.put(url, {"units": ["slot"]}, content_type="application/json", **auth(users["coordinator"]))
    assert refused.status_code == 403
    bad = client.put(url, {"units": ["bed_day", "x"]}, content_type="application/json", **auth(users["hospital_admin"]))
    assert bad.status_code == 422 and bad.json()["field"] == "units"
    put = client.put(url, {"units": ["slot"]}, content_type="application/json", **auth(users["hospital_admin"]))
    assert put.status_code == 200 and put.json() == {
        "units": ["slot"],
        "present": ["visit", "slot", "bed_day"],
        "chosen": True,
    }
    # The other hospital's admin changes only their own hospital (which has no resources: refused).
    other = client.put(url, {"units": ["slot"]}, content_type="application/json", **auth(users["other_admin"]))
    assert other.status_code == 422
    assert services.reported_units(hospital) == ["slot"]
    assert client.get(url, **auth(users["patient"])).status_code == 403
    report = client.get(f"{API}/utilisation?month={day:%Y-%m}", **auth(users["coordinator"])).json()
    assert [row["unit"] for row in report["by_unit"]] == ["slot"]


def test_the_utilisation_page_sets_the_metrics_for_the_admin_only(client, users, hospital, three_units, day):
    month = f"{day:%Y-%m}"
    client.force_login(users["hospital_admin"])
    page = client.get(reverse("capacity:utilisation") + f"?month={month}").content.decode()
    assert 'id="metrics-form"' in page
    response = client.post(reverse("capacity:metrics"), {"units": ["bed_day", "visit"], "month": month})
    assert response.status_code == 302
    assert response["Location"] == reverse("capacity:utilisation") + f"?month={month}"
    assert services.reported_units(hospital) == ["visit", "bed_day"]
    page = client.get(reverse("capacity:utilisation") + f"?month={month}").content.decode()
    table = page.split('id="by-metric"')[1].split("</table>")[0]
    assert "bed-days" in table and "visits" in table and "slots" not in table
    nothing = client.post(reverse("capacity:metrics"), {"month": month}, follow=True)
    assert "Choose at least one metric" in nothing.content.decode()
    assert services.reported_units(hospital) == ["visit", "bed_day"]
    client.force_login(users["coordinator"])
    page = client.get(reverse("capacity:utilisation") + f"?month={month}").content.decode()
    assert 'id="metrics-form"' not in page
    assert client.post(reverse("capacity:metrics"), {"units": ["slot"]}).status_code == 403
    client.force_login(users["platform_admin"])
    page = client.get(reverse("capacity:utilisation") + f"?month={month}&hospital=east").content.decode()
    assert 'id="metrics-form"' not in page
    assert client.post(reverse("capacity:metrics"), {"units": ["slot"]}).status_code == 403
    assert services.reported_units(hospital) == ["visit", "bed_day"]

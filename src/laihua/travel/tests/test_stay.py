"""The patient's days in China: flights in the airports' own time zones, the airport pickup, accommodation
near the hospital, companions; who may record and read them; the trip's dates that the rest follows."""

import datetime
from decimal import Decimal

import pytest
from django.urls import reverse

from laihua.audit.models import AuditEvent
from laihua.errors import InvalidInput, PermissionDenied
from laihua.kit import clock
from laihua.travel import services
from laihua.travel.models import Accommodation, AccommodationBooking, Flight, Stay
from tests.builders import make_case


def flight_data(day: datetime.date, **extra) -> dict:
    """Air France 116 from Paris, in the evening, landing in Shanghai the next afternoon (local times)."""
    data = {
        "direction": "in",
        "number": "AF 116",
        "from_airport": "cdg",
        "departs": f"{day.isoformat()}T21:40",
        "to_airport": "PVG",
        "arrives": f"{(day + datetime.timedelta(days=1)).isoformat()}T15:05",
    }
    data.update(extra)
    return data


def out_data(day: datetime.date, **extra) -> dict:
    data = {
        "direction": "out",
        "number": "MU553",
        "from_airport": "PVG",
        "departs": f"{day.isoformat()}T23:55",
        "to_airport": "CDG",
        "arrives": f"{(day + datetime.timedelta(days=1)).isoformat()}T06:20",
    }
    data.update(extra)
    return data


@pytest.fixture
def hotel(hospital):
    return Accommodation.objects.create(
        hospital=hospital,
        kind="hotel",
        name={"en": "Riverside Demo Hotel", "zh-hans": "滨江示范酒店"},
        address={"en": "8 Bund Road, Huangpu, Shanghai", "zh-hans": "上海市黄浦区外滩路8号"},
        distance_m=650,
        nightly_price_cny=Decimal("720.00"),
    )


def test_flights_are_kept_as_instants_and_read_in_each_airports_time(accepted, users):
    leave = accepted.desired_arrival - datetime.timedelta(days=1)
    flight = services.save_flight(users["coordinator"], accepted, flight_data(leave))
    assert flight.number == "AF116" and (flight.from_airport, flight.to_airport) == ("CDG", "PVG")
    assert (flight.departs_tz, flight.arrives_tz) == ("Europe/Paris", "Asia/Shanghai")
    assert flight.departs_local.strftime("%H:%M") == "21:40" and flight.arrives_local.strftime("%H:%M") == "15:05"
    assert flight.arrives_at - flight.departs_at == datetime.timedelta(hours=10, minutes=25)  # UTC+1 to UTC+8
    dates = services.trip_dates(accepted)
    assert dates.arrival == accepted.desired_arrival and dates.arrival_from == "flight"
    assert dates.departure_from == "desired" and not dates.booked
    services.save_flight(
        users["coordinator"], accepted, out_data(accepted.desired_arrival + datetime.timedelta(days=9))
    )
    dates = services.trip_dates(accepted)
    assert dates.departure == accepted.desired_arrival + datetime.timedelta(days=9) and dates.booked
    assert AuditEvent.objects.filter(action="travel.flight.create").count() == 2
    assert accepted.events.filter(kind="flights_changed").count() == 2


def test_a_connection_abroad_is_not_the_entry(accepted, users):
    day = accepted.desired_arrival - datetime.timedelta(days=2)
    services.save_flight(users["coordinator"], accepted, flight_data(day, to_airport="DOH", number="QR40"))
    assert services.trip_dates(accepted).arrival_from == "desired"
    services.save_flight(
        users["coordinator"],
        accepted,
        flight_data(
            day,
            from_airport="DOH",
            number="QR870",
            departs=f"{accepted.desired_arrival - datetime.timedelta(days=1)}T23:00",
            arrives=f"{accepted.desired_arrival}T12:00",
        ),
    )
    assert services.trip_dates(accepted).arrival == accepted.desired_arrival


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"number": "12345"}, "number", "airline"),
        ({"from_airport": "XQZ"}, "from_airport", "three-letter"),
        ({"to_airport": "CDG"}, "to_airport", "took off"),
        ({"arrives": "2027-01-01T10:00", "departs": "2027-01-01T21:40"}, "arrives", "before the departure"),
        ({"arrives": "2027-01-04T10:00", "departs": "2027-01-01T21:40"}, "arrives", "30 hours"),
        ({"departs": "tomorrow evening"}, "departs", "date and time"),
    ],
)
def test_a_bad_flight_is_refused_on_its_field_and_nothing_is_saved(accepted, users, change, field, words):
    with pytest.raises(InvalidInput) as refused:
        services.save_flight(users["coordinator"], accepted, flight_data(accepted.desired_arrival, **change))
    assert refused.value.field == field and words in str(refused.value.message)
    assert not Flight.objects.exists() and not AuditEvent.objects.filter(action__startswith="travel.flight").exists()
    assert not accepted.events.filter(kind="flights_changed").exists()


def test_only_the_hospitals_desk_records_the_stay_and_only_once_a_quote_is_accepted(accepted, users, patient, hospital):
    data = flight_data(accepted.desired_arrival)
    for role in ("clinician", "finance", "patient"):
        with pytest.raises(PermissionDenied):
            services.save_flight(users[role], accepted, data)
    with pytest.raises(PermissionDenied):
        services.save_flight(users["other_coordinator"], accepted, data)
    inquiry = make_case(patient, hospital, state="triage")
    with pytest.raises(services.StayNotOpen):
        services.save_flight(users["coordinator"], inquiry, data)
    assert services.save_flight(users["hospital_admin"], accepted, data).pk


def test_the_pickup_meets_the_flight_in(accepted, users):
    with pytest.raises(InvalidInput) as refused:
        services.set_pickup(users["coordinator"], accepted, {"pickup_status": "requested"})
    assert refused.value.field == "pickup_status"
    services.save_flight(
        users["coordinator"], accepted, flight_data(accepted.desired_arrival - datetime.timedelta(days=1))
    )
    stay = services.set_pickup(
        users["coordinator"], accepted, {"pickup_status": "confirmed", "pickup_note": "Mr Li,  +86 138 0000 0000"}
    )
    assert (stay.pickup_status, stay.pickup_note) == ("confirmed", "Mr Li, +86 138 0000 0000")
    assert accepted.events.filter(kind="pickup_changed").count() == 1
    with pytest.raises(InvalidInput):
        services.set_pickup(users["coordinator"], accepted, {"pickup_status": "teleport"})


def test_accommodation_is_requested_at_the_quoted_price_and_confirmed(accepted, users, hotel, companion):
    data = {
        "accommodation": hotel.pk,
        "check_in": accepted.desired_arrival.isoformat(),
        "check_out": accepted.desired_departure.isoformat(),
        "guests": 2,
    }
    booking = services.request_accommodation(users["coordinator"], accepted, data)
    assert booking.status == "requested" and booking.nights == 12 and booking.total_cny == Decimal("8640.00")
    hotel.nightly_price_cny = Decimal("999.00")
    hotel.save()
    booking.refresh_from_db()
    assert booking.nightly_price_cny == Decimal("720.00")  # as quoted when asked
    booking = services.set_booking_status(users["coordinator"], accepted, booking.pk, {"status": "confirmed"})
    assert booking.status == "confirmed"
    assert accepted.events.filter(kind="accommodation_changed").count() == 2
    assert AuditEvent.objects.filter(action="travel.accommodation_booking.change", detail__to="confirmed").exists()


def test_accommodation_of_another_hospital_or_no_longer_offered_is_refused(accepted, users, hotel, other_hospital):
    elsewhere = Accommodation.objects.create(
        hospital=other_hospital,
        kind="hotel",
        name={"en": "West Hotel", "zh-hans": "西方酒店"},
        address={"en": "1 West Road", "zh-hans": "西路1号"},
        distance_m=100,
        nightly_price_cny=Decimal("500"),
    )
    data = {
        "check_in": accepted.desired_arrival.isoformat(),
        "check_out": accepted.desired_departure.isoformat(),
        "guests": 1,
    }
    for place in (elsewhere,):
        with pytest.raises(InvalidInput) as refused:
            services.request_accommodation(users["coordinator"], accepted, {**data, "accommodation": place.pk})
        assert refused.value.field == "accommodation"
    hotel.active = False
    hotel.save()
    with pytest.raises(InvalidInput):
        services.request_accommodation(users["coordinator"], accepted, {**data, "accommodation": hotel.pk})
    hotel.active = True
    hotel.save()
    with pytest.raises(InvalidInput) as refused:  # the patient and no companion on file
        services.request_accommodation(users["coordinator"], accepted, {**data, "accommodation": hotel.pk, "guests": 2})
    assert refused.value.field == "guests"
    with pytest.raises(InvalidInput) as refused:
        services.request_accommodation(
            users["coordinator"], accepted, {**data, "accommodation": hotel.pk, "check_out": data["check_in"]}
        )
    assert refused.value.field == "check_out"
    assert not AccommodationBooking.objects.exists()


def test_companions_staying_are_the_patients_own(accepted, users, companion, other_patient):
    stranger = other_patient.companions.create(
        family_name="Muster",
        given_names="Erika",
        relation="wife",
        sex="F",
        date_of_birth=datetime.date(1982, 1, 1),
        nationality="DE",
        passport_number="C0000001",
    )
    with pytest.raises(InvalidInput):
        services.set_companions(users["coordinator"], accepted, {"companions": [str(stranger.pk)]})
    stay = services.set_companions(users["coordinator"], accepted, {"companions": [str(companion.pk)]})
    assert list(stay.companions.all()) == [companion]


def test_the_patient_reads_the_stay_and_other_hospitals_do_not_find_it(client, accepted, users, hotel):
    services.save_flight(
        users["coordinator"], accepted, flight_data(accepted.desired_arrival - datetime.timedelta(days=1))
    )
    url = f"/api/travel/cases/{accepted.reference}/stay"
    client.force_login(users["patient"])
    answer = client.get(url)
    assert answer.status_code == 200
    body = answer.json()
    assert body["flights"][0]["number"] == "AF116" and body["flights"][0]["arrives"].endswith("15:05:00+08:00")
    assert body["arrival_from"] == "flight" and body["accommodations_offered"][0]["distance_m"] == 650
    assert AuditEvent.objects.filter(action="travel.stay.view", actor=users["patient"]).exists()
    assert (
        client.post(
            f"/api/travel/cases/{accepted.reference}/flights",
            flight_data(clock.today()),
            content_type="application/json",
        ).status_code
        == 403
    )
    for role, status in (("other_coordinator", 404), ("insurer_agent", 404), ("clinician", 200)):
        client.force_login(users[role])
        assert client.get(url).status_code == status, role


def test_the_api_records_flights_pickup_accommodation_and_companions(client, accepted, users, hotel, companion):
    client.force_login(users["coordinator"])
    base = f"/api/travel/cases/{accepted.reference}"
    answer = client.post(
        f"{base}/flights",
        flight_data(accepted.desired_arrival - datetime.timedelta(days=1)),
        content_type="application/json",
    )
    assert answer.status_code == 201
    flight_id = answer.json()["flights"][0]["id"]
    bad = client.post(
        f"{base}/flights", flight_data(accepted.desired_arrival, from_airport="ZZZ"), content_type="application/json"
    )
    assert bad.status_code == 422 and bad.json()["field"] == "from_airport"
    assert (
        client.put(f"{base}/pickup", {"pickup_status": "requested"}, content_type="application/json").json()["pickup"][
            "status"
        ]
        == "requested"
    )
    booking = client.post(
        f"{base}/accommodation-bookings",
        {
            "accommodation": hotel.pk,
            "check_in": str(accepted.desired_arrival),
            "check_out": str(accepted.desired_departure),
            "guests": 2,
        },
        content_type="application/json",
    )
    assert booking.status_code == 201
    booking_id = booking.json()["accommodation_bookings"][0]["id"]
    confirmed = client.put(
        f"{base}/accommodation-bookings/{booking_id}", {"status": "confirmed"}, content_type="application/json"
    )
    assert confirmed.json()["accommodation_bookings"][0]["status"] == "confirmed"
    staying = client.put(f"{base}/companions", {"companions": [companion.pk]}, content_type="application/json")
    assert staying.json()["companions"][0]["relation"] == "husband"
    assert client.delete(f"{base}/flights/{flight_id}").status_code == 204
    assert client.delete(f"{base}/flights/{flight_id}").status_code == 404
    assert Stay.objects.get(case=accepted).pickup_status == "requested"


def test_the_case_page_shows_the_stay_and_the_desk_edits_it_in_place(client, accepted, users, hotel):
    client.force_login(users["coordinator"])
    page = client.get(reverse("cases:detail", args=[accepted.reference])).content.decode()
    assert 'id="stay"' in page and 'id="flight-form"' in page
    answer = client.post(
        reverse("travel:flight_add", args=[accepted.reference]),
        flight_data(accepted.desired_arrival - datetime.timedelta(days=1), number="??"),
        HTTP_HX_REQUEST="true",
    )
    assert answer.status_code == 200  # htmx swaps only successful answers: the error is in the section
    text = answer.content.decode()
    assert (
        'id="stay-error"' in text
        and 'value="??"' in text
        and '<details class="stay-form" id="flight-form" open' in text
    )
    answer = client.post(
        reverse("travel:flight_add", args=[accepted.reference]),
        flight_data(accepted.desired_arrival - datetime.timedelta(days=1)),
        HTTP_HX_REQUEST="true",
    )
    text = answer.content.decode()
    assert "AF116" in text and "Shanghai Pudong International Airport" in text
    assert "21:40" in text and "15:05" in text  # each airport's clock, not the site's time zone
    plain = client.post(reverse("travel:pickup", args=[accepted.reference]), {"pickup_status": "requested"})
    assert plain.status_code == 302 and plain.url.endswith("#stay")
    client.force_login(users["patient"])
    page = client.get(reverse("cases:detail", args=[accepted.reference])).content.decode()
    assert "Your days in China" in page and "AF116" in page and 'id="flight-form"' not in page
    assert (
        client.post(reverse("travel:pickup", args=[accepted.reference]), {"pickup_status": "none"}).status_code == 403
    )


def test_the_hospitals_partner_accommodations_are_kept_by_its_desk(client, users, hotel):
    client.force_login(users["coordinator"])
    page = client.get(reverse("travel:accommodations"))
    assert page.status_code == 200 and "滨江示范酒店" in page.content.decode()
    refused = client.post(
        reverse("travel:accommodations"),
        {"kind": "hotel", "name_en": "Only English", "distance_m": 300, "nightly_price_cny": "500"},
    )
    assert refused.status_code == 422 and Accommodation.objects.count() == 1
    added = client.post(
        "/api/travel/accommodations",
        {
            "kind": "serviced_apartment",
            "name": {"en": "Demo Residences", "zh-hans": "示范公寓"},
            "address": {"en": "12 Demo Lane", "zh-hans": "示范里12号"},
            "distance_m": 1200,
            "nightly_price_cny": "560.00",
        },
        content_type="application/json",
    )
    assert added.status_code == 201 and added.json()["name"]["zh-hans"] == "示范公寓"
    client.force_login(users["other_coordinator"])
    assert client.get("/api/travel/accommodations").json() == []
    assert client.get(reverse("travel:accommodation_edit", args=[hotel.pk])).status_code == 404
    client.force_login(users["clinician"])
    assert client.post(reverse("travel:accommodations"), {}).status_code == 403

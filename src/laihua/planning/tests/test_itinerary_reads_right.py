"""The itinerary the patient reads: the flights, the pickup and the hotel on their days, every place also in
Chinese for a taxi driver, the interpreter when an entry carries one, only the notes that apply, dates in the
reader's language; the same on the page, in the PDF and in the calendar file."""

import datetime
import re
from decimal import Decimal
from io import BytesIO

import pytest
from django.urls import reverse
from pypdf import PdfReader

from laihua.interpreters.models import Interpreter
from laihua.planning import services
from laihua.planning.models import ItineraryItem, ServiceRule
from laihua.planning.services import documents
from laihua.travel import services as travel
from laihua.travel.models import Accommodation

from .conftest import inputs

pytestmark = pytest.mark.django_db


@pytest.fixture
def booked_trip(users, trip_case, arrival, hospital):
    """The knee trip confirmed, with the flights in and out, a confirmed pickup and a confirmed hotel."""
    coordinator = users["coordinator"]
    itinerary = services.plan_case(coordinator, trip_case, inputs(arrival))
    services.confirm_itinerary(coordinator, itinerary)
    travel.save_flight(
        coordinator,
        trip_case,
        {
            "direction": "in",
            "number": "UA857",
            "from_airport": "SFO",
            "departs": f"{arrival - datetime.timedelta(days=1)}T11:15",
            "to_airport": "PVG",
            "arrives": f"{arrival}T16:05",
        },
    )
    travel.save_flight(
        coordinator,
        trip_case,
        {
            "direction": "out",
            "number": "UA858",
            "from_airport": "PVG",
            "departs": f"{itinerary.departure}T18:45",
            "to_airport": "SFO",
            "arrives": f"{itinerary.departure}T14:30",
        },
    )
    travel.set_pickup(coordinator, trip_case, {"pickup_status": "confirmed", "pickup_note": "Mr Li, +86 138 0000 0000"})
    hotel = Accommodation.objects.create(
        hospital=hospital,
        kind="hotel",
        name={"en": "Riverside Demo Hotel", "zh-hans": "滨江示范酒店"},
        address={"en": "8 Bund Road, Huangpu", "zh-hans": "上海市黄浦区外滩路8号"},
        distance_m=650,
        nightly_price_cny=Decimal("720"),
    )
    booking = travel.request_accommodation(
        coordinator,
        trip_case,
        {"accommodation": hotel.pk, "check_in": str(arrival), "check_out": str(itinerary.departure), "guests": 1},
    )
    travel.set_booking_status(coordinator, trip_case, booking.pk, {"status": "confirmed"})
    itinerary.refresh_from_db()
    return itinerary


def test_the_schedule_puts_the_flights_pickup_and_hotel_on_their_days(booked_trip, arrival):
    found = services.documents.schedule(booked_trip)
    first = found.days[0]
    assert first["day"] == arrival
    kinds = [entry.kind for entry in first["entries"]]
    assert kinds[:3] == ["flight_in", "pickup", "check_in"] and "arrival" not in kinds  # the flight says it
    assert first["entries"][0].start == datetime.time(16, 5)
    last = found.days[-1]
    assert [entry.kind for entry in last["entries"]][-2:] == ["check_out", "flight_out"]
    assert found.fasting_days == [arrival + datetime.timedelta(days=1)] and found.pickup == "confirmed"


def test_the_page_names_every_place_in_chinese_too_and_only_the_notes_that_apply(client, users, booked_trip, arrival):
    client.force_login(users["patient"])
    page = client.get(reverse("planning:case", args=[booked_trip.case.reference])).content.decode()
    taxi = page[page.index('id="taxi-card"') : page.index('id="itinerary-days"')]
    assert "东方示范医院" in taxi and "示范路1号" in taxi and "上海市黄浦区外滩路8号" in taxi
    assert "East Demo Hospital · 东方示范医院" in page  # beside each visit
    assert "Flight UA857 lands at PVG" in page and "Shanghai Pudong International Airport" in page
    assert "11:15 local time" in page  # leaving San Francisco on its own clock
    assert "Mr Li, +86 138 0000 0000" in page and "Riverside Demo Hotel · 滨江示范酒店" in page
    assert 'id="fasting-note"' in page and 'id="permitted-note"' in page
    assert not re.search(r"\b\d\d/\d\d/\d{4}\b", page)  # never 01/06/2027
    ServiceRule.objects.update(morning_only=False)
    page = client.get(reverse("planning:case", args=[booked_trip.case.reference])).content.decode()
    assert 'id="fasting-note"' not in page and "fasting" not in page.lower().split('id="itinerary-days"')[1]
    chinese = client.get("/zh-hans" + reverse("planning:case", args=[booked_trip.case.reference])[3:]).content.decode()
    assert f"{arrival.year}年{arrival.month}月{arrival.day}日" in chinese and "UA857" in chinese


def test_an_entry_that_carries_an_interpreter_names_them(client, users, booked_trip, monkeypatch):
    person = Interpreter(pk=1, name="WANG Fang", languages=["en"])
    row = ItineraryItem(interpreter=person, interpreter_language="en", interpreter_mode="in_person")
    assert documents.interpreter_of(row) == "WANG Fang, English"
    remote = ItineraryItem(interpreter_language="ru", interpreter_mode="phone")
    assert documents.interpreter_of(remote) == "Russian, remote by phone"
    waiting = ItineraryItem(interpreter_language="ru", interpreter_mode="none")
    assert documents.interpreter_of(ItineraryItem()) == "" and documents.interpreter_of(None) == ""
    assert documents.interpreter_of(waiting) == ""
    monkeypatch.setattr(
        documents, "interpreter_of", lambda row: "WANG Fang, English" if row and row.kind == "visit" else ""
    )
    client.force_login(users["patient"])
    page = client.get(reverse("planning:case", args=[booked_trip.case.reference])).content.decode()
    assert "Interpreter: WANG Fang, English" in page and "An interpreter meets you" in page


def test_the_calendar_has_the_flights_pickup_and_hotel_with_chinese_addresses(users, booked_trip, arrival):
    body = services.itinerary_ics(users["patient"], booked_trip).decode().replace("\r\n ", "")
    assert "SUMMARY:Flight UA857 SFO → PVG" in body
    landing = datetime.datetime.combine(arrival, datetime.time(8, 5))  # 16:05 in Shanghai is 08:05 UTC
    assert f"DTSTART:{landing:%Y%m%dT%H%M%S}Z" in body.split("SUMMARY:Airport pickup")[0].rsplit("BEGIN:VEVENT", 1)[1]
    assert "SUMMARY:Check in: Riverside Demo Hotel" in body and "上海市黄浦区外滩路8号" in body
    assert "LOCATION:East Demo Hospital\\, 1 Demo Road · 东方示范医院 示范路1号" in body
    uids = [line for line in body.split("\r\n") if line.startswith("UID:")]
    assert len(uids) == len(set(uids))


def test_the_pdf_reads_in_the_patients_language_with_the_chinese_for_the_taxi(users, booked_trip):
    pdf = services.itinerary_pdf(users["patient"], booked_trip)
    text = "".join(page.extract_text() for page in PdfReader(BytesIO(pdf)).pages)
    assert "For the taxi driver" in text and "东方示范医院" in text and "滨江示范酒店" in text
    assert "Flight UA857 lands at PVG" in text and "eat nothing after midnight" in text

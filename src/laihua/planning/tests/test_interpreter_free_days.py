"""The offer of another day for a visit no interpreter is free for: the nearest days of the trip on which an
interpreter of the patient's language is free for the visit at a time its place is open, from the pool's
working hours, days away and what the interpreters already do; never another hospital's interpreters; shown
on the desk's case page in both languages and in the API."""

import datetime

import pytest
from django.utils import translation

from laihua.accounts.services import create_api_token
from laihua.interpreters.forms import language_name
from laihua.interpreters.models import Absence, Interpreter
from laihua.planning import services
from laihua.planning.models import ItemKind, Itinerary, ItineraryItem, ItineraryStatus
from laihua.planning.services.interpreters import FREE_DAYS_SHOWN
from laihua.planning.services.reasons import day_words
from laihua.planning.tests.conftest import inputs

pytestmark = pytest.mark.django_db

ALL_WEEK = [1, 2, 3, 4, 5, 6, 7]


def auth(user):
    return {"HTTP_AUTHORIZATION": f"Bearer {create_api_token(user, user, 'test')[1]}"}


def uncovered_plan(users, trip_case, hospital, arrival):
    """The trip planned while the pool has nobody of the patient's language (English): every visit is short."""
    Interpreter.objects.create(hospital=hospital, name="Ivan Petrov", languages=["ru"], weekdays=ALL_WEEK)
    itinerary = services.plan_case(users["coordinator"], trip_case, inputs(arrival))
    assert itinerary.feasible
    return itinerary


def consultation(itinerary):
    return itinerary.items.select_related("item").get(kind=ItemKind.VISIT, item__code="CON-ORTH")


def other_days(itinerary, row):
    days, day = [], itinerary.arrival
    while day <= itinerary.departure:
        if day != row.day:
            days.append(day)
        day += datetime.timedelta(days=1)
    return days


def test_a_day_where_an_interpreter_is_free_is_offered_not_one_where_she_is_away_or_busy(
    users, trip_case, other_case, hospital, arrival
):
    itinerary = uncovered_plan(users, trip_case, hospital, arrival)
    row = consultation(itinerary)
    days = other_days(itinerary, row)
    assert len(days) >= 3
    away, busy = days[0], days[1]
    # Wang Fang (English) joins the pool afterwards (directly, so no pass re-assigns the visits): away on one
    # day of the trip, and all day with another patient's confirmed visit on another.
    fang = Interpreter.objects.create(
        hospital=hospital,
        name="Wang Fang",
        languages=["en"],
        weekdays=ALL_WEEK,
        works_from=datetime.time(9, 0),
        works_until=datetime.time(17, 0),
    )
    Absence.objects.create(interpreter=fang, starts_on=away, ends_on=away)
    other = Itinerary.objects.create(
        case=other_case, status=ItineraryStatus.ACTIVE, earliest_arrival=arrival, created_by=users["coordinator"]
    )
    ItineraryItem.objects.create(
        itinerary=other,
        day=busy,
        kind=ItemKind.VISIT,
        starts_at=datetime.time(8, 0),
        ends_at=datetime.time(17, 0),
        interpreter=fang,
        interpreter_language="en",
    )
    offered = services.free_days(itinerary)[row.pk]
    dates = [o["date"] for o in offered]
    assert away not in dates and busy not in dates and row.day not in dates
    free = sorted((d for d in days if d not in (away, busy)), key=lambda d: (abs((d - row.day).days), d))
    assert dates == sorted(free[:FREE_DAYS_SHOWN])
    length = (row.ends_at.hour * 60 + row.ends_at.minute) - (row.starts_at.hour * 60 + row.starts_at.minute)
    first = offered[0]
    # From her working hours (09:00) within the clinic's (08:00-17:00), clear of the patient's other visits.
    assert first["start"] >= "09:00" and first["end"] <= "17:00"
    start = datetime.datetime.strptime(first["start"], "%H:%M")
    assert (datetime.datetime.strptime(first["end"], "%H:%M") - start).seconds // 60 == length
    # With her away the whole trip, nothing is offered.
    Absence.objects.create(interpreter=fang, starts_on=itinerary.arrival, ends_on=itinerary.departure)
    assert services.free_days(itinerary)[row.pk] == []


def test_the_offer_is_on_the_case_page_in_both_languages_and_in_the_api(client, users, trip_case, hospital, arrival):
    itinerary = uncovered_plan(users, trip_case, hospital, arrival)
    row = consultation(itinerary)
    Interpreter.objects.create(hospital=hospital, name="Wang Fang", languages=["en"], weekdays=ALL_WEEK)
    offered = services.free_days(itinerary)[row.pk]
    assert offered
    day = offered[0]["date"]
    client.force_login(users["coordinator"])
    page = client.get(f"/en/planning/cases/{trip_case.reference}/").content.decode()
    words = day_words(day)
    assert f"An interpreter of English is free on {words} ({offered[0]['start']}-{offered[0]['end']})." in page
    zh = client.get(f"/zh-hans/planning/cases/{trip_case.reference}/").content.decode()
    with translation.override("zh-hans"):
        sentence = (
            f"{day_words(day)}（{offered[0]['start']}-{offered[0]['end']}）有一位{language_name('en')}口译员有空。"
        )
    assert sentence.startswith(f"{day.year}年{day.month}月{day.day}日（") and "英语" in sentence
    assert sentence in zh
    body = client.get(f"/api/planning/cases/{trip_case.reference}/itinerary", **auth(users["coordinator"])).json()
    entry = next(i for i in body["items"] if i["kind"] == "visit" and i["service"] == "CON-ORTH")
    assert entry["interpreter_free_days"][0] == {
        "date": day.isoformat(),
        "start": offered[0]["start"],
        "end": offered[0]["end"],
    }
    # The patient reads their itinerary without the desk's offer.
    mine = client.get(f"/api/planning/cases/{trip_case.reference}/itinerary", **auth(users["patient"])).json()
    assert all("interpreter_free_days" not in i for i in mine["items"])


def test_another_hospitals_interpreters_are_never_offered(users, trip_case, hospital, other_hospital, arrival):
    itinerary = uncovered_plan(users, trip_case, hospital, arrival)
    row = consultation(itinerary)
    Interpreter.objects.create(hospital=other_hospital, name="West Interpreter", languages=["en"], weekdays=ALL_WEEK)
    assert services.free_days(itinerary)[row.pk] == []

"""The permitted stay: the entry route's limit from the day the patient lands in China, a visa's own stay,
an extension granted; a trip past it refused with the way to extend; the warning a week before it ends,
once; documents that no longer match the booked dates flagged for reissue."""

import datetime
from pathlib import Path

import pytest
from django.core import mail
from django.core.management import call_command
from django.urls import reverse
from django.utils import translation
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from laihua.audit.models import AuditEvent
from laihua.errors import InvalidInput
from laihua.kit import clock
from laihua.travel import rules, services
from laihua.travel.models import StayExtension, StayWarning
from laihua.travel.signals import booked_trip
from laihua.travel.tests.conftest import letter_data
from laihua.travel.tests.test_stay import flight_data
from tests.builders import make_case, make_patient, make_user


@pytest.fixture
def french(hospital, users, mri):
    """A French patient (30 days visa-free) scheduled at the hospital, arriving in ten days."""
    user = make_user("fr-patient", "patient")
    patient = make_patient(user, nationality="FR", currency="EUR", family_name="Martin", given_names="Claire")
    arrival = clock.today() + datetime.timedelta(days=10)
    return make_case(
        patient,
        hospital,
        state="scheduled",
        services=[mri],
        desired_arrival=arrival,
        desired_departure=arrival + datetime.timedelta(days=14),
    )


def land(case, coordinator, day: datetime.date):
    """The flight in lands in Shanghai on `day`, 15:05 local time."""
    return services.save_flight(coordinator, case, flight_data(day - datetime.timedelta(days=1)))


def test_the_shipped_ways_to_extend_a_stay_are_dated_and_sourced(db):
    rows = {row.scheme.code: row for row in StayExtension.objects.select_related("scheme")}
    assert set(rows) == {"visa", "visa_free_30", "hainan_30", "transit_240h"}
    for row in rows.values():
        assert row.valid_from == datetime.date(2013, 7, 1) and row.source_title and row.source_url.startswith("http")
        assert row.apply_days_before == 7 and row.how["zh-hans"] and "出入境" in row.where["zh-hans"]
    assert "Article 29" in rows["visa"].source_title and "Article 34" in rows["visa_free_30"].source_title


def test_a_bad_extension_row_is_refused_with_its_place(tmp_path):
    path = Path(tmp_path) / "ext.csv"
    text = rules.EXTENSIONS_FILE.read_text().replace("visa_free_30,2013-07-01", "visa_free_30,2013-13-01", 1)
    path.write_text(text)
    with pytest.raises(InvalidInput) as refused:
        rules.read_extensions(path, known_schemes={"visa", "visa_free_30", "hainan_30", "transit_240h"})
    assert refused.value.field == "valid_from" and "row 3" in str(refused.value.message)
    path.write_text(rules.EXTENSIONS_FILE.read_text().replace(",7,8,", ",7,800,", 1))
    with pytest.raises(InvalidInput) as refused:
        rules.read_extensions(path, known_schemes={"visa", "visa_free_30", "hainan_30", "transit_240h"})
    assert refused.value.field == "processing_days"


def test_the_permitted_stay_counts_from_the_day_the_patient_lands(french, users):
    assert services.permitted_stay(french).entry_from == "desired"
    land(french, users["coordinator"], french.desired_arrival + datetime.timedelta(days=1))
    permitted = services.permitted_stay(french)
    assert permitted.route == "visa_free_30" and permitted.limit_days == 30 and permitted.entry_from == "flight"
    assert permitted.entry == french.desired_arrival + datetime.timedelta(days=1)
    assert permitted.ends_on == permitted.entry + datetime.timedelta(days=30)
    assert permitted.extension.scheme.code == "visa_free_30"


def test_a_visas_own_stay_and_an_extension_granted_are_followed(french, users):
    land(french, users["coordinator"], french.desired_arrival)
    services.set_entry(users["coordinator"], french, {"entry_route": "visa", "visa_stay_days": "60"})
    permitted = services.permitted_stay(french)
    assert (permitted.route, permitted.limit_days, permitted.visa_days_recorded) == ("visa", 60, True)
    later = french.desired_arrival + datetime.timedelta(days=90)
    services.set_entry(
        users["coordinator"], french, {"entry_route": "visa", "visa_stay_days": "60", "extended_until": later}
    )
    permitted = services.permitted_stay(french)
    assert permitted.ends_on == later and permitted.extended
    with pytest.raises(InvalidInput) as refused:
        services.set_entry(users["coordinator"], french, {"entry_route": "visa_free_30", "visa_stay_days": "60"})
    assert refused.value.field == "visa_stay_days"
    with pytest.raises(InvalidInput) as refused:
        services.set_entry(users["coordinator"], french, {"entry_route": "hainan_30"})  # not open to this hospital
    assert refused.value.field == "entry_route"
    assert AuditEvent.objects.filter(action="travel.stay.entry").count() == 2


def test_a_trip_past_the_permitted_stay_is_refused_naming_the_limit_and_the_extension(french, users):
    entry = french.desired_arrival
    land(french, users["coordinator"], entry)
    ends = entry + datetime.timedelta(days=30)
    assert services.check_departure(french, entry, ends).ends_on == ends  # the last day itself is allowed
    with pytest.raises(services.StayLimitExceeded) as refused:
        services.check_departure(french, entry + datetime.timedelta(days=3), ends + datetime.timedelta(days=2))
    message = str(refused.value.message)
    assert refused.value.field == "stay_limit" and refused.value.code == "stay_limit_exceeded"
    assert "2 days after the permitted stay ends" in message and "30-day visa-free entry" in message
    assert "stay permit" in message and "exit-entry administration" in message and "8 working days" in message
    with translation.override("zh-hans"), pytest.raises(services.StayLimitExceeded) as refused:
        services.check_departure(french, entry, ends + datetime.timedelta(days=1))
    chinese = str(refused.value.message)
    assert f"{ends.year}年{ends.month}月{ends.day}日" in chinese and "出入境管理机构" in chinese


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(limit=st.integers(min_value=1, max_value=180), extra=st.integers(min_value=-20, max_value=20))
def test_a_departure_is_allowed_exactly_up_to_the_last_permitted_day(french, users, limit, extra):
    from laihua.travel.models import Stay

    Stay.objects.update_or_create(case=french, defaults={"entry_route": "visa", "visa_stay_days": limit})
    entry = french.desired_arrival
    departure = entry + datetime.timedelta(days=limit + extra)
    if extra <= 0:
        assert services.check_departure(french, entry, departure).ends_on == entry + datetime.timedelta(days=limit)
    else:
        with pytest.raises(services.StayLimitExceeded):
            services.check_departure(french, entry, departure)


def test_the_coordinator_is_warned_once_a_week_before_the_stay_ends(
    french, users, client, django_capture_on_commit_callbacks
):
    french.coordinator = users["coordinator"]
    french.save(update_fields=["coordinator"])
    today = clock.today()
    land(french, users["coordinator"], today - datetime.timedelta(days=24))  # 30 days end in 6 days
    services.set_entry(users["coordinator"], french, {"entry_route": "visa_free_30"})
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert services.stay_reminders(today) == [french.reference]
    assert services.stay_reminders(today) == []  # idempotent
    call_command("travel", "stay-reminders")
    assert StayWarning.objects.filter(case=french).count() == 1
    assert french.events.filter(kind="stay_warning", staff_only=True).count() == 1
    assert AuditEvent.objects.filter(action="travel.stay.warn").count() == 1
    assert len(mail.outbox) == 1 and users["coordinator"].email in mail.outbox[0].to
    assert "permitted stay" in mail.outbox[0].subject or "停留" in mail.outbox[0].subject
    client.force_login(users["coordinator"])
    board = client.get(reverse("cases:list")).content.decode()
    assert 'id="stay-warnings"' in board and french.reference in board and "stay-ending" in board
    page = client.get(reverse("cases:detail", args=[french.reference])).content.decode()
    assert 'id="stay-warning"' in page
    client.force_login(users["other_coordinator"])
    assert 'id="stay-warnings"' not in client.get(reverse("cases:list")).content.decode()


def test_no_warning_far_from_the_end_nor_before_the_patient_is_in_china(french, users):
    today = clock.today()
    land(french, users["coordinator"], today - datetime.timedelta(days=5))  # 25 days left
    services.set_entry(users["coordinator"], french, {"entry_route": "visa_free_30"})
    assert services.stay_reminders(today) == []
    assert services.stay_reminders(today + datetime.timedelta(days=23)) == [french.reference]
    future = make_case(
        french.patient, french.hospital, state="scheduled", desired_arrival=today - datetime.timedelta(days=1)
    )
    future.desired_arrival = today + datetime.timedelta(days=3)  # not in China yet
    future.save()
    assert services.stay_reminders(today) == []


def test_an_issued_letter_whose_dates_no_longer_match_the_booked_trip_is_flagged(client, accepted, users, signatory):
    letter = services.issue_letter(users["coordinator"], accepted.reference, letter_data(accepted))
    assert services.letter_needs_reissue(accepted) is None  # the desired dates: nothing is booked yet
    land(accepted, users["coordinator"], accepted.desired_arrival + datetime.timedelta(days=2))
    services.save_flight(
        users["coordinator"],
        accepted,
        {
            "direction": "out",
            "number": "MU553",
            "from_airport": "PVG",
            "departs": f"{accepted.desired_departure}T23:55",
            "to_airport": "CDG",
            "arrives": f"{accepted.desired_departure + datetime.timedelta(days=1)}T06:20",
        },
    )
    assert services.letter_needs_reissue(accepted) == letter
    client.force_login(users["coordinator"])
    page = client.get(reverse("cases:detail", args=[accepted.reference])).content.decode()
    assert 'id="letter-reissue"' in page and letter.number in page
    defaults = services.letter_defaults(accepted)
    assert defaults["arrival"] == accepted.desired_arrival + datetime.timedelta(days=2)
    services.issue_letter(
        users["coordinator"], accepted.reference, letter_data(accepted, arrival=str(defaults["arrival"]))
    )
    assert services.letter_needs_reissue(accepted) is None
    assert 'id="letter-reissue"' not in client.get(reverse("cases:detail", args=[accepted.reference])).content.decode()


def test_the_entry_check_follows_the_booked_trip(accepted, users):
    """A receiver of booked_trip (planning's confirmed itinerary) moves the dates the guidance checks."""
    arrival = accepted.desired_arrival + datetime.timedelta(days=5)

    def booked(sender, case, **kwargs):
        return (arrival, arrival + datetime.timedelta(days=40)) if case.pk == accepted.pk else None

    booked_trip.connect(booked, dispatch_uid="test-booked")
    try:
        dates = services.trip_dates(accepted)
        assert (dates.arrival, dates.arrival_from, dates.booked) == (arrival, "booked", True)
        guidance = services.entry_guidance(accepted)
        assert guidance.arrival == arrival and guidance.stay_days == 40
    finally:
        booked_trip.disconnect(dispatch_uid="test-booked")

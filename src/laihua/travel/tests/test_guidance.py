import datetime

import pytest

from laihua.accounts.services import create_api_token
from laihua.audit.models import AuditEvent
from laihua.errors import InvalidInput, NotFound
from laihua.kit import clock
from laihua.travel import services
from laihua.travel.models import EntryScheme, SchemeCountry

pytestmark = pytest.mark.django_db

SPRING = datetime.date(2026, 3, 1)  # "today" in these tests: every shipped list is in force
ARRIVAL = datetime.date(2026, 4, 1)


def days(n):
    return datetime.timedelta(days=n)


def guidance(nationality, arrival=ARRIVAL, stay=None, day=SPRING):
    departure = arrival + days(stay) if stay is not None else None
    return services.entry_guidance(nationality=nationality, arrival=arrival, departure=departure, day=day)


def route(found, code):
    return next((r for r in found.routes if r.code == code), None)


def bearer(user):
    return {"Authorization": f"Bearer {create_api_token(user, user, 'test')[1]}"}


def test_shipped_lists_hold_the_sourced_countries():
    counts = {
        code: SchemeCountry.objects.filter(scheme__code=code).count()
        for code in ("visa_free_30", "transit_240h", "hainan_30")
    }
    assert counts == {"visa_free_30": 49, "transit_240h": 55, "hainan_30": 59}
    assert not SchemeCountry.objects.filter(source_title="").exists()
    russia = SchemeCountry.objects.get(scheme__code="visa_free_30", country="RU")
    assert (russia.valid_from, russia.valid_until) == (datetime.date(2025, 9, 15), datetime.date(2026, 9, 14))
    assert EntryScheme.objects.get(code="hainan_30").medical_purpose
    assert not EntryScheme.objects.get(code="visa_free_30").medical_purpose


def test_french_patient_for_20_days_fits_the_30_day_route_with_a_medical_warning():
    found = guidance("FR", stay=20)
    first = found.routes[0]
    assert first.code == "visa_free_30"
    assert first.fits and first.fits_stay and first.exceeded_by == 0
    assert not first.medical_purpose
    assert any("Medical treatment is not among" in warning for warning in first.warnings)
    assert first.valid_until == datetime.date(2026, 12, 31)
    assert first.source_url.startswith("http")
    transit = route(found, "transit_240h")
    assert transit.exceeded_by == 10 and not transit.fits
    assert found.routes[-1].code == "visa" and found.routes[-1].fallback
    assert found.best is first


def test_french_patient_for_40_days_is_warned_that_the_stay_exceeds_30_days_by_10():
    free = route(guidance("FR", stay=40), "visa_free_30")
    assert free.fits_stay is False and free.exceeded_by == 10
    assert any("40 days" in warning and "10 days too many" in warning for warning in free.warnings)


def test_american_patient_is_not_offered_the_30_day_route_but_transit_or_a_visa():
    found = guidance("US", stay=8)
    codes = [r.code for r in found.routes]
    assert "visa_free_30" not in codes
    assert found.best.code == "visa"  # transit fits 8 days but needs an onward ticket; Hainan only in Hainan
    assert codes[-1] == "visa"
    transit = route(found, "transit_240h")
    assert transit.fits and transit.scheme.onward_ticket_required
    assert any("third country" in warning for warning in transit.warnings)
    assert found.ended == []  # never on the 30-day list, so nothing "ended" to mention


def test_russian_arrival_after_the_trial_ends_is_not_promised_the_30_day_route():
    before = guidance("RU", arrival=datetime.date(2026, 9, 1), stay=20)
    assert route(before, "visa_free_30") is not None
    assert any("2026-09-14" in warning for warning in route(before, "visa_free_30").warnings)  # leaves after the end
    after = guidance("RU", arrival=datetime.date(2026, 9, 15), stay=10)
    assert route(after, "visa_free_30") is None
    assert any("2026-09-14" in line for line in after.ended)
    assert route(after, "transit_240h") is not None  # Russia is on the transit list without an end date


def test_arrival_after_2026_is_not_promised_the_30_day_route():
    found = guidance("DE", arrival=datetime.date(2027, 1, 4), stay=14)
    assert route(found, "visa_free_30") is None
    assert any("2026-12-31" in line for line in found.ended)
    assert [r.code for r in found.routes][-1] == "visa"


def test_british_patient_is_on_the_30_day_list_only_from_17_february_2026():
    assert route(guidance("GB", arrival=datetime.date(2026, 2, 16), stay=5), "visa_free_30") is None
    assert route(guidance("GB", arrival=datetime.date(2026, 2, 17), stay=5), "visa_free_30") is not None


def test_hainan_lists_medical_treatment_but_only_for_care_in_hainan():
    hainan = route(guidance("US", stay=25), "hainan_30")
    assert hainan.medical_purpose and hainan.place_fits is None
    assert any("only where its conditions say" in warning for warning in hainan.warnings)


def test_without_dates_the_rules_are_read_for_today(monkeypatch):
    monkeypatch.setattr(clock, "today", lambda: SPRING)
    found = services.entry_guidance(nationality="FR")
    assert found.checked_for == SPRING and found.stay_days is None
    assert route(found, "visa_free_30").fits_stay is None
    monkeypatch.setattr(clock, "today", lambda: datetime.date(2027, 2, 1))
    assert route(services.entry_guidance(nationality="FR"), "visa_free_30") is None


def test_unknown_nationality_is_refused_naming_the_field():
    with pytest.raises(InvalidInput) as error:
        services.entry_guidance(nationality="QQ", arrival=ARRIVAL)
    assert error.value.field == "nationality"


def test_a_scheme_added_by_the_platform_admin_is_read_like_the_shipped_ones():
    scheme = EntryScheme.objects.create(
        code="mutual_30",
        name={"en": "Mutual visa exemption", "zh-hans": "互免签证"},
        max_stay_days=30,
        medical_purpose=True,
        order=5,
        source_title="Agreement",
    )
    SchemeCountry.objects.create(scheme=scheme, country="SG", valid_from=datetime.date(2024, 2, 9), source_title="x")
    found = guidance("SG", stay=20)
    assert found.routes[0].code == "mutual_30"


# A case's guidance


def test_case_guidance_uses_the_patients_nationality_dates_and_hospital_city(case, users):
    case.desired_arrival, case.desired_departure = ARRIVAL, ARRIVAL + days(9)
    case.save()
    found = services.case_guidance(users["coordinator"], case.reference, day=SPRING)
    assert found.nationality.code == "US" and found.stay_days == 9
    hainan = route(found, "hainan_30")
    assert hainan.place_fits is False and not hainan.fits  # the hospital is in Shanghai
    event = AuditEvent.objects.get(action="travel.guidance.view")
    assert event.object_id == str(case.pk) and event.actor == users["coordinator"]


def test_case_guidance_is_refused_to_another_hospital_and_another_patient(case, users, other_patient):
    with pytest.raises(NotFound):
        services.case_guidance(users["other_coordinator"], case.reference)
    with pytest.raises(NotFound):
        services.case_guidance(other_patient.user, case.reference)
    assert not AuditEvent.objects.filter(action="travel.guidance.view").exists()


def test_public_guidance_api_needs_no_sign_in(client):
    body = client.get(
        "/api/travel/guidance", {"nationality": "fr", "arrival": "2026-04-01", "departure": "2026-04-21"}
    ).json()
    assert body["nationality"] == "FR" and body["stay_days"] == 20
    assert [r["scheme"] for r in body["routes"]][-1] == "visa"
    assert body["routes"][-1]["fallback"] is True


def test_public_guidance_api_names_the_bad_field(client):
    response = client.get(
        "/api/travel/guidance", {"nationality": "FR", "arrival": "2026-04-21", "departure": "2026-04-01"}
    )
    assert response.status_code == 422 and response.json()["field"] == "departure"
    assert client.get("/api/travel/guidance", {"nationality": "QQ"}).json()["field"] == "nationality"


def test_case_guidance_api_needs_the_cases_patient_or_staff(client, case, users, other_patient):
    assert client.get("/api/travel/guidance", {"case": case.reference}).status_code == 401
    own = client.get("/api/travel/guidance", {"case": case.reference}, headers=bearer(users["patient"]))
    assert own.status_code == 200 and own.json()["case"] == case.reference
    other = client.get("/api/travel/guidance", {"case": case.reference}, headers=bearer(other_patient.user))
    assert other.status_code == 404
    staff = client.get("/api/travel/guidance", {"case": case.reference}, headers=bearer(users["other_coordinator"]))
    assert staff.status_code == 404


def test_public_guidance_page_shows_routes_in_chinese(client):
    response = client.get(
        "/zh-hans/travel/entry/", {"nationality": "FR", "arrival": "2026-04-01", "departure": "2026-04-21"}
    )
    assert response.status_code == 200
    assert "单方面免签入境（30天）" in response.content.decode()


def test_a_case_at_a_hainan_hospital_is_offered_hainan_first(patient, users):
    from tests.builders import make_case, make_city, make_hospital

    boao = make_hospital("boao", city=make_city("haikou", "Haikou", "海口"), en="Boao Demo Hospital", zh="博鳌示范医院")
    case = make_case(patient, boao, desired_arrival=ARRIVAL, desired_departure=ARRIVAL + days(25))
    found = services.case_guidance(users["patient"], case, day=SPRING)
    assert found.routes[0].code == "hainan_30" and found.routes[0].place_fits is True
    assert found.best.code == "hainan_30"

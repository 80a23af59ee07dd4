import datetime
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from pypdf import PdfReader

from laihua.accounts.services import create_api_token
from laihua.audit.models import AuditEvent
from laihua.demo import travel as demo
from laihua.demo.hospitals import HOSPITALS
from laihua.hospitals.models import Hospital
from laihua.travel.models import InvitationLetter, LetterSettings
from laihua.travel.tests.conftest import letter_data
from tests.builders import make_city

pytestmark = pytest.mark.django_db

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
    b"\x00\x00\x00\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\x00\x05\x00\x01\xff\x89\x99=\x1d\x00\x00\x00\x00IEND\xaeB`\x82"
)


def bearer(user):
    return {"Authorization": f"Bearer {create_api_token(user, user, 'test')[1]}"}


def sign_in(client, user):
    client.force_login(user)
    return client


def api_payload(case, **extra):
    payload = letter_data(case, **extra)
    payload["case"] = case.reference
    return payload


def test_api_issues_lists_and_serves_the_letter(client, accepted, users, signatory, companion):
    response = client.post(
        "/api/travel/letters",
        api_payload(accepted, companions=[companion.pk]),
        content_type="application/json",
        headers=bearer(users["coordinator"]),
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["number"].startswith("EAST-") and body["companions"] == 1 and body["case"] == accepted.reference
    listed = client.get("/api/travel/letters", {"case": accepted.reference}, headers=bearer(users["patient"])).json()
    assert [letter["id"] for letter in listed] == [body["id"]]
    pdf = client.get(body["pdf_url"], headers=bearer(users["patient"]))
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert "X1234567" in PdfReader(io.BytesIO(pdf.content)).pages[0].extract_text()


def test_api_refuses_letters_before_acceptance_and_to_strangers(client, accepted, users, signatory, other_patient):
    accepted.state = "quoted"
    accepted.save(update_fields=["state"])
    early = client.post(
        "/api/travel/letters",
        api_payload(accepted),
        content_type="application/json",
        headers=bearer(users["coordinator"]),
    )
    assert early.status_code == 409 and early.json()["error"] == "case_not_accepted"
    accepted.state = "accepted"
    accepted.save(update_fields=["state"])
    for user, status in ((users["other_coordinator"], 404), (other_patient.user, 404), (users["clinician"], 403)):
        response = client.post(
            "/api/travel/letters", api_payload(accepted), content_type="application/json", headers=bearer(user)
        )
        assert response.status_code == status
    assert not InvitationLetter.objects.exists()
    bad = client.post(
        "/api/travel/letters",
        api_payload(accepted, payer="insurer"),
        content_type="application/json",
        headers=bearer(users["coordinator"]),
    )
    assert bad.status_code == 422 and bad.json()["field"] == "payer_name"


def test_api_letter_pdf_is_not_found_for_another_patient(client, accepted, users, signatory, other_patient):
    from laihua.travel import services

    letter = services.issue_letter(users["coordinator"], accepted.reference, letter_data(accepted))
    response = client.get(f"/api/travel/letters/{letter.pk}/pdf", headers=bearer(other_patient.user))
    assert response.status_code == 404
    listed = client.get("/api/travel/letters", {"case": accepted.reference}, headers=bearer(users["other_coordinator"]))
    assert listed.status_code == 404


def test_coordinator_issues_the_letter_from_the_page(client, accepted, users, signatory, companion):
    sign_in(client, users["coordinator"])
    form = client.get(f"/en/travel/cases/{accepted.reference}/letter/")
    assert form.status_code == 200 and "DOE John" in form.content.decode()
    response = client.post(
        f"/en/travel/cases/{accepted.reference}/letter/",
        {**letter_data(accepted), "companions": [str(companion.pk)]},
    )
    assert response.status_code == 302 and response["Location"].endswith(f"/cases/{accepted.reference}/#travel")
    letter = InvitationLetter.objects.get()
    assert letter.snapshot["companions"][0]["passport_number"] == "C7654321"


def test_letter_page_shows_field_errors_and_issues_nothing(client, accepted, users, signatory):
    sign_in(client, users["coordinator"])
    response = client.post(
        f"/en/travel/cases/{accepted.reference}/letter/", letter_data(accepted, departure="2000-01-01")
    )
    assert response.status_code == 200 and "departure comes before the arrival" in response.content.decode()
    assert not InvitationLetter.objects.exists()


def test_letter_page_is_refused_before_acceptance_and_to_clinicians(client, accepted, users, signatory):
    sign_in(client, users["clinician"])
    assert client.get(f"/en/travel/cases/{accepted.reference}/letter/").status_code == 403
    sign_in(client, users["coordinator"])
    accepted.state = "triage"
    accepted.save(update_fields=["state"])
    response = client.get(f"/en/travel/cases/{accepted.reference}/letter/")
    assert response.status_code == 409 and "accepted a quote" in response.content.decode()


def test_patient_downloads_the_letter_from_the_page(client, accepted, users, signatory):
    from laihua.travel import services

    letter = services.issue_letter(users["coordinator"], accepted.reference, letter_data(accepted))
    sign_in(client, users["patient"])
    response = client.get(f"/en/travel/letters/{letter.pk}.pdf")
    assert response.status_code == 200 and response.content.startswith(b"%PDF")
    assert AuditEvent.objects.filter(action="travel.letter.download", actor=users["patient"]).exists()


def test_case_panel_shows_routes_and_the_letter_to_the_patient_in_chinese(client, accepted, users, signatory):
    from django.template import Context, Template
    from django.test import RequestFactory
    from django.utils import translation

    from laihua.travel import services

    letter = services.issue_letter(users["coordinator"], accepted.reference, letter_data(accepted))
    request = RequestFactory().get("/")
    request.user = users["patient"]
    with translation.override("zh-hans"):
        html = Template("{% load travel_tags %}{% travel_panel case %}").render(
            Context({"case": accepted, "request": request})
        )
    assert "签证（S2、L或M），凭医院邀请函申请" in html
    assert f"/travel/letters/{letter.pk}.pdf" in html
    request.user = users["clinician"]
    html = Template("{% load travel_tags %}{% travel_panel case %}").render(
        Context({"case": accepted, "request": request})
    )
    assert ".pdf" not in html  # clinicians see the routes, not the letters with passport numbers


def test_hospital_admin_sets_the_signatory_and_stamp(client, users, hospital, accepted, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    sign_in(client, users["hospital_admin"])
    response = client.post(
        "/en/travel/letter-settings/",
        {
            "signatory_name_en": "LI Na",
            "signatory_name_zh-hans": "李娜",
            "signatory_title_en": "Head of International Services",
            "signatory_title_zh-hans": "国际医疗服务部主任",
            "reference_prefix": "east-intl",
            "phone": "+86 21 1111 2222",
            "stamp": SimpleUploadedFile("stamp.png", PNG, content_type="image/png"),
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    chosen = LetterSettings.objects.get(hospital=hospital)
    assert chosen.has_signatory and chosen.prefix == "EAST-INTL" and chosen.stamp
    assert AuditEvent.objects.filter(action="travel.letter_settings.change").exists()
    from laihua.travel import services

    letter = services.issue_letter(users["coordinator"], accepted.reference, letter_data(accepted))
    assert letter.number.startswith("EAST-INTL-") and letter.snapshot["inviter"]["stamp_sha256"]
    assert "李娜" in PdfReader(io.BytesIO(bytes(letter.pdf))).pages[-1].extract_text()


GIF = (
    b"GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00!\xf9\x04\x01\x00\x00\x00\x00"
    b",\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
)


def test_letter_settings_refuse_a_disguised_stamp_and_other_roles(client, users, hospital):
    sign_in(client, users["hospital_admin"])
    response = client.post(
        "/en/travel/letter-settings/",
        {
            "signatory_name_en": "LI Na",
            "signatory_name_zh-hans": "李娜",
            "signatory_title_en": "Head",
            "signatory_title_zh-hans": "主任",
            "stamp": SimpleUploadedFile("stamp.png", GIF, content_type="image/png"),
        },
    )
    assert response.status_code == 200 and "PNG or JPEG" in response.content.decode()
    assert not LetterSettings.objects.exists()
    sign_in(client, users["coordinator"])
    assert client.get("/en/travel/letter-settings/").status_code == 403


def test_rules_page_is_for_the_platform_admin(client, users):
    sign_in(client, users["platform_admin"])
    page = client.get("/en/travel/rules/")
    assert page.status_code == 200 and "transit_240h" in page.content.decode()
    sign_in(client, users["hospital_admin"])
    assert client.get("/en/travel/rules/").status_code == 403


def test_demo_letter_settings_load_twice_without_duplicates(db):
    spec = HOSPITALS[0]
    Hospital.objects.create(slug=spec.slug, name=spec.name, city=make_city(), address=spec.address, is_demo=True)
    assert demo.load() == 1 and demo.load() == 1
    chosen = LetterSettings.objects.get()
    assert chosen.has_signatory and "demo" in chosen.signatory_title["en"].lower()
    assert "示范" in chosen.signatory_name["zh-hans"] and chosen.prefix.startswith("DEMO-")


def test_signatory_missing_is_shown_on_the_panel_and_refused(client, accepted, users):
    sign_in(client, users["coordinator"])
    response = client.post(f"/en/travel/cases/{accepted.reference}/letter/", letter_data(accepted))
    assert response.status_code == 200 and "no signatory yet" in response.content.decode()
    assert not InvitationLetter.objects.exists()
    assert datetime.date.today()  # the page rendered with the case's defaults

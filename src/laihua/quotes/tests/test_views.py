import datetime
from decimal import Decimal

import pytest
from django.template import Context, Template
from django.test import RequestFactory
from django.urls import reverse
from django.utils import translation

from laihua.audit.models import AuditEvent
from laihua.cases.models import Case
from laihua.kit import clock
from laihua.quotes import services
from laihua.quotes.models import Quote, Status

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def url(name, *args):
    with translation.override("en"):
        return reverse(f"quotes:{name}", args=args)


# --- the builder ----------------------------------------------------------------------------------


def test_a_coordinator_opens_a_draft_and_sees_the_builder(client, users, triage_case, rates_today):
    client.force_login(users["coordinator"])
    response = client.post(url("new", triage_case.reference))
    quote = Quote.objects.get()
    assert response.status_code == 302 and response["Location"] == url("detail", quote.number)
    page = client.get(response["Location"])
    assert page.status_code == 200
    html = page.content.decode()
    assert "Add from the catalog" in html and "Send the quote" in html
    assert "MRI-01" in html  # the service the patient asked about, ready to add
    assert client.post(url("new", triage_case.reference))["Location"] == url("detail", quote.number)  # same draft


def test_lines_are_added_with_htmx_and_the_totals_come_back(client, users, draft, knee):
    client.force_login(users["coordinator"])
    response = client.post(
        url("line_add", draft.number), {"item": knee.pk, "quantity": "1", "unit_price": "40000"}, **HTMX
    )
    assert response.status_code == 200 and response["X-Quote-Changed"] == "1"
    html = response.content.decode()
    assert "Knee arthroscopy" in html and "膝关节镜手术" in html and "CN¥40,972.00" in html
    manual = {"description_en": "Interpreter", "description_zh-hans": "翻译", "quantity": "2", "unit_price": "600"}
    html = client.post(url("line_add", draft.number), manual, **HTMX).content.decode()
    assert "priced by hand" in html and "CN¥42,172.00" in html


def test_a_refused_line_shows_the_message_and_changes_nothing(client, users, draft, knee):
    client.force_login(users["coordinator"])
    response = client.post(url("line_add", draft.number), {"item": knee.pk, "unit_price": "10"}, **HTMX)
    assert response.status_code == 200 and "X-Quote-Changed" not in response
    assert "Choose a unit price within the catalog range" in response.content.decode()
    page = client.post(url("line_add", draft.number), {"item": knee.pk, "unit_price": "10"})
    assert page.status_code == 422 and "Choose a unit price within the catalog range" in page.content.decode()
    assert draft.lines.count() == 1


def test_a_discount_is_edited_on_the_line_with_its_reason(client, users, draft):
    client.force_login(users["coordinator"])
    line = draft.lines.get()
    data = {"quantity": "2", "discount_percent": "10", "discount_amount": "", "discount_reason": "Returning patient"}
    response = client.post(url("line_edit", draft.number, line.pk), data, **HTMX)
    assert "Returning patient" in response.content.decode()
    line.refresh_from_db()
    assert line.amount_cny == Decimal("874.80")
    client.post(url("line_remove", draft.number, line.pk), **HTMX)
    assert not draft.lines.exists()


def test_the_catalog_search_finds_services_in_any_language(client, users, draft, knee, checkup):
    client.force_login(users["coordinator"])
    html = client.get(url("catalog", draft.number), {"q": "膝"}, **HTMX).content.decode()
    assert "KNEE-01" in html and "PKG-CHECK" not in html
    page = client.get(url("catalog", draft.number), {"q": "check-up"})
    assert page.status_code == 302
    assert "PKG-CHECK" in client.get(page["Location"]).content.decode()


def test_terms_are_saved_and_the_quote_is_sent(client, users, draft, triage_case):
    client.force_login(users["coordinator"])
    until = (clock.today() + datetime.timedelta(days=10)).isoformat()
    data = {
        "valid_until": until,
        "deposit": "500",
        "currency": "USD",
        "exclusions_en": "Hotel",
        "exclusions_zh-hans": "酒店",
    }
    assert client.post(url("terms", draft.number), data).status_code == 302
    draft.refresh_from_db()
    assert draft.deposit_cny == Decimal("500.00") and draft.exclusions == {"en": "Hotel", "zh-hans": "酒店"}
    response = client.post(url("send", draft.number))
    assert response.status_code == 302
    assert Quote.objects.get(pk=draft.pk).status == Status.SENT
    assert Case.objects.get(pk=triage_case.pk).state == "quoted"


def test_a_refused_sending_shows_the_builder_with_the_message(client, users, draft):
    client.force_login(users["coordinator"])
    Quote.objects.filter(pk=draft.pk).update(deposit_cny=Decimal("5000"))
    response = client.post(url("send", draft.number))
    assert response.status_code == 422
    assert "The deposit cannot be more than the total." in response.content.decode()


def test_a_clinician_cannot_start_a_quote_and_sees_a_draft_read_only(client, users, triage_case, draft):
    client.force_login(users["clinician"])
    assert client.post(url("new", triage_case.reference)).status_code == 403
    page = client.get(url("detail", draft.number))
    assert page.status_code == 200 and "Send the quote" not in page.content.decode()
    assert client.post(url("line_add", draft.number), {"item": ""}).status_code == 403  # an error page, not the form


def test_another_hospital_gets_not_found(client, users, draft, triage_case):
    client.force_login(users["other_coordinator"])
    assert client.get(url("detail", draft.number)).status_code == 404
    assert client.post(url("new", triage_case.reference)).status_code == 404
    assert client.get(url("pdf", draft.number)).status_code == 404


# --- the patient's page ---------------------------------------------------------------------------


def test_the_patient_sees_the_quote_in_their_currency_and_in_cny_with_the_rate(client, users, sent, rates_today):
    client.force_login(users["patient"])
    html = client.get(url("detail", sent.number)).content.decode()
    assert "CN¥972.00" in html
    assert "$136.45" in html  # 972 / 7.12345678
    assert "1 USD = 7.12345678 CNY" in html
    assert "Accept the quote" in html and "Decline the quote" in html
    assert AuditEvent.objects.filter(action="quote.view", actor=users["patient"]).exists()


def test_the_patient_accepts_on_the_page(client, users, sent, triage_case):
    client.force_login(users["patient"])
    response = client.post(url("accept", sent.number), HTTP_USER_AGENT="TestBrowser/1.0", REMOTE_ADDR="192.0.2.44")
    assert response.status_code == 302
    sent.refresh_from_db()
    assert sent.status == Status.ACCEPTED
    assert (sent.accepted_ip, sent.accepted_user_agent) == ("192.0.2.44", "TestBrowser/1.0")
    html = client.get(url("detail", sent.number)).content.decode()
    assert "Accept the quote" not in html and "Accepted online" in html
    again = client.post(url("accept", sent.number))
    assert again.status_code == 409 and "already accepted" in again.content.decode()


def test_declining_on_the_page_asks_for_a_reason(client, users, sent, triage_case):
    client.force_login(users["patient"])
    refused = client.post(url("decline", sent.number), {"reason": ""})
    assert refused.status_code == 422 and "Tell the hospital why you decline" in refused.content.decode()
    assert client.post(url("decline", sent.number), {"reason": "Found a date elsewhere"}).status_code == 302
    assert Quote.objects.get(pk=sent.pk).status == Status.DECLINED
    assert Case.objects.get(pk=triage_case.pk).state == "triage"


def test_an_expired_quote_shows_why_it_cannot_be_accepted(client, users, sent):
    Quote.objects.filter(pk=sent.pk).update(valid_until=clock.today() - datetime.timedelta(days=2))
    client.force_login(users["patient"])
    page = client.get(url("detail", sent.number)).content.decode()
    assert "This quote expired" in page and "Accept the quote" not in page
    response = client.post(url("accept", sent.number))
    assert response.status_code == 409
    assert Quote.objects.get(pk=sent.pk).status == Status.EXPIRED


def test_another_patient_gets_not_found(client, other_patient, sent):
    client.force_login(other_patient.user)
    assert client.get(url("detail", sent.number)).status_code == 404
    assert client.post(url("accept", sent.number)).status_code == 404
    assert client.get(url("pdf", sent.number)).status_code == 404
    assert Quote.objects.get(pk=sent.pk).status == Status.SENT


def test_the_patient_never_sees_a_draft(client, users, draft):
    client.force_login(users["patient"])
    assert client.get(url("detail", draft.number)).status_code == 404


def test_the_pdf_downloads_for_patient_and_staff_and_is_audited(client, users, sent):
    for user in (users["patient"], users["coordinator"]):
        client.force_login(user)
        response = client.get(url("pdf", sent.number))
        assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
        assert response.content.startswith(b"%PDF")
        assert f'filename="{sent.number}.pdf"' in response["Content-Disposition"]
    assert AuditEvent.objects.filter(action="quote.pdf").count() == 2


def test_the_revision_history_is_on_the_quote_page(client, users, sent, triage_case):
    revision = services.create_draft(users["coordinator"], triage_case)
    services.send_quote(users["coordinator"], revision)
    client.force_login(users["patient"])
    html = client.get(url("detail", revision.number)).content.decode()
    assert sent.number in html and "Superseded" in html
    old = client.get(url("detail", sent.number)).content.decode()
    assert "A newer revision replaced this quote" in old and "Accept the quote" not in old


def test_the_quote_lists_are_scoped(client, users, sent):
    client.force_login(users["patient"])
    assert sent.number in client.get(url("list")).content.decode()
    client.force_login(users["other_coordinator"])
    assert sent.number not in client.get(url("list")).content.decode()


# --- the panel on the case page -------------------------------------------------------------------


def render_panel(user, case):
    request = RequestFactory().get("/")
    request.user = user
    with translation.override("en"):
        return Template("{% load quotes_tags %}{% quotes_panel case %}").render(
            Context({"request": request, "case": case})
        )


def test_the_case_panel_offers_a_new_quote_to_the_coordinator_in_triage(users, triage_case, rates_today):
    html = render_panel(users["coordinator"], triage_case)
    assert "New quote" in html and url("new", triage_case.reference) in html
    assert "New quote" not in render_panel(users["clinician"], triage_case)
    assert "New quote" not in render_panel(users["patient"], triage_case)


def test_the_case_panel_lists_quotes_and_offers_a_revision(users, sent):
    case = Case.objects.get(pk=sent.case_id)
    html = render_panel(users["coordinator"], case)
    assert sent.number in html and "Sent" in html and "Revise the quote" in html
    services.create_draft(users["coordinator"], case)
    staff = render_panel(users["coordinator"], case)
    assert "Continue draft" in staff
    patient = render_panel(users["patient"], case)
    assert sent.number in patient and "-Q2" not in patient  # the draft stays with the hospital

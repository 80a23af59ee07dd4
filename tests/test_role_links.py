"""Pages show each role only the links it may follow (no link that ends in a refusal), and date inputs
carry ISO dates whatever the page's language."""

import re

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_only_patients_and_visitors_are_offered_to_ask_about_a_service(client, users, mri):
    url = reverse("web:item", args=[mri.hospital.slug, mri.code])
    ask = reverse("cases:new")
    assert ask in client.get(url).content.decode()
    client.force_login(users["patient"])
    assert ask in client.get(url).content.decode()
    for role in ("coordinator", "hospital_admin", "finance"):
        client.force_login(users[role])
        assert ask not in client.get(url).content.decode(), role


def test_finance_is_not_sent_to_records_and_coordinators_not_to_receivables(client, users, case):
    client.force_login(users["finance"])
    page = client.get(reverse("cases:detail", args=[case.reference])).content.decode()
    assert 'id="records-link"' not in page
    client.force_login(users["coordinator"])
    page = client.get(reverse("cases:detail", args=[case.reference])).content.decode()
    assert 'id="records-link"' in page
    invoices = client.get(reverse("billing:list"))
    assert invoices.status_code == 200 and reverse("billing:receivables") not in invoices.content.decode()
    client.force_login(users["finance"])
    assert reverse("billing:receivables") in client.get(reverse("billing:list")).content.decode()


def test_a_date_input_holds_an_iso_date_on_a_chinese_page(client, users, mri):
    client.force_login(users["hospital_admin"])
    page = client.get(f"/zh-hans{reverse('catalog:item', args=[mri.pk])[3:]}").content.decode()
    value = re.search(r'<input type="date" name="effective_from" value="([^"]*)"', page).group(1)
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", value), value


def test_the_entry_check_lists_nationalities_in_the_pages_language(client):
    page = client.get("/zh-hans/travel/entry/").content.decode()
    assert "阿富汗" in page and "Afghanistan" not in page
    assert "Afghanistan" in client.get("/en/travel/entry/").content.decode()

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_the_contracts_page_names_the_kinds_needing_pre_authorisation_in_the_pages_language(client, users, contract):
    client.force_login(users["hospital_admin"])
    url = reverse("insurance:contracts")
    english = client.get(url).content.decode()
    chinese = client.get("/zh-hans" + url[3:]).content.decode()
    row = english.split('id="contract-acme"')[1].split("</tr>")[0]
    assert "Procedure" in row and ">procedure" not in row
    assert "手术" in chinese.split('id="contract-acme"')[1].split("</tr>")[0]

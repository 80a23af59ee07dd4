"""The search result rows and the search form's reference lists."""

import pytest
from django.urls import reverse
from django.utils import translation

from laihua.catalog.links import ItemLinks
from laihua.hospitals import services as hospitals
from laihua.hospitals.models import Department

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("code", ["MRI-01", "CT 2", "X-ray?", "kéfir%", "核磁", "a&b=c;d", "~user:1@x", "#1"])
def test_row_links_are_what_reverse_gives(code):
    for language in ("en", "zh-hans"):
        with translation.override(language):
            links = ItemLinks()
            assert links.of_item("east", code) == reverse("web:item", args=["east", code])
            assert links.of_hospital("east-2") == reverse("web:hospital", args=["east-2"])


def test_results_page_shows_each_row_in_the_active_language(client, mri):
    english = client.get("/en/prices/", {"q": "MRI", "currency": "USD"}).content.decode()
    chinese = client.get("/zh-hans/prices/", {"q": "MRI", "currency": "USD"}).content.decode()
    assert mri.name["en"] in english and mri.hospital.name["en"] in english
    assert mri.name["zh-hans"] in chinese and mri.hospital.name["zh-hans"] in chinese
    assert f'href="/zh-hans/hospitals/{mri.hospital.slug}/services/{mri.code}/"' in chinese


def test_a_new_department_reaches_the_search_form_at_once(client, hospital):
    before = [code for code, _name in hospitals.department_choices()]
    assert "dermatology" not in before
    Department.objects.create(hospital=hospital, code="dermatology", name={"en": "Dermatology", "zh-hans": "皮肤科"})
    assert "dermatology" in [code for code, _name in hospitals.department_choices()]
    assert "Dermatology" in client.get("/en/prices/").content.decode()

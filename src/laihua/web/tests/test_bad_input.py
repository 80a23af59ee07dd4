"""A visitor's or a client's bad input is answered with an error, never a server error."""

import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "url",
    [
        "/en/prices/?page=abc",
        "/en/prices/?price_min=abc",
        "/en/prices/?price_min=1e999",
        "/en/hospitals/nope/",
        "/en/hospitals/east/services/nope/",
        "/en/hospitals/east/services/MRI-01/?on=2020-13-45",
        "/en/compare/nope/",
        "/prices/nope.json",
        "/api/catalog/search?price_min=NaN",
        "/api/catalog/search?price_max=Infinity",
        "/api/catalog/search?price_max=1e999",
        "/api/catalog/search?offset=-5",
        "/api/rates/convert?amount=abc&currency=USD",
        "/api/rates/convert?amount=1e999&currency=USD",
        "/api/rates/convert?amount=1&currency=USD&date=1900-01-01",
    ],
)
def test_bad_input_is_a_client_error(client, mri, url):
    response = client.get(url)
    assert 400 <= response.status_code < 500, (url, response.status_code)


def test_unknown_currency_shows_cny_with_a_message(client, mri):
    response = client.get("/en/prices/?q=mri&currency=zzz")
    assert response.status_code == 200
    assert b'role="alert"' in response.content and b"486" in response.content


def test_a_date_before_any_price_says_so(client, mri):
    response = client.get("/en/hospitals/east/services/MRI-01/?on=1800-01-01")
    assert response.status_code == 200
    assert b"no price" in response.content.lower()

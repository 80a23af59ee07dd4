import pytest
from django.contrib.auth.models import AnonymousUser
from django.contrib.sessions.backends.db import SessionStore
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.utils import translation
from django_htmx.middleware import HtmxDetails

from laihua.errors import Conflict, DomainError, NotFound, PermissionDenied
from laihua.kit.weberrors import DomainErrorMiddleware
from laihua.web.tests.helpers import page_text

pytestmark = pytest.mark.django_db


def page_request(path="/en/somewhere/", **headers):
    request = RequestFactory().get(path, **headers)
    request.session = SessionStore()
    request.user = AnonymousUser()
    request.htmx = HtmxDetails(request)
    return request


def raised(error, request=None):
    middleware = DomainErrorMiddleware(lambda request: None)
    with translation.override("en"):
        return middleware.process_exception(request or page_request(), error)


@pytest.mark.parametrize(
    ("error", "status", "title"),
    [
        (NotFound("No such hospital."), 404, "Not found"),
        (PermissionDenied(), 403, "Not allowed"),
        (Conflict("A price already starts on this date."), 409, "This conflicts with the current state"),
        (DomainError("Something about the request."), 400, "The request could not be completed"),
    ],
)
def test_domain_error_in_a_page_becomes_an_html_message_with_its_status(error, status, title):
    response = raised(error)
    assert response.status_code == status
    text = page_text(response)
    assert title in text and str(error.message) in text
    assert "<html" in response.content.decode()


def test_sign_in_required_sends_the_visitor_to_the_login_page():
    response = raised(PermissionDenied("Sign in first.", code="unauthenticated", status=401))
    assert response.status_code == 302
    assert response["Location"].startswith("/en/accounts/login/?next=/en/somewhere/")


def test_htmx_partial_gets_the_message_as_a_fragment():
    request = page_request(HTTP_HX_REQUEST="true")
    response = raised(NotFound("No such hospital."), request)
    assert response.status_code == 200
    assert "<html" not in response.content.decode() and "No such hospital." in response.content.decode()


def test_api_paths_are_left_to_the_json_error_handler():
    assert raised(NotFound(), page_request("/api/hospitals/nowhere")) is None


def test_other_exceptions_are_not_swallowed():
    assert raised(ValueError("bug")) is None


def test_unknown_hospital_page_is_an_html_404_in_the_visitors_language(client):
    english = client.get("/en/hospitals/nowhere/")
    assert english.status_code == 404 and "No such hospital." in page_text(english)
    chinese = client.get("/zh-hans/hospitals/nowhere/")
    assert chinese.status_code == 404 and '<html lang="zh-hans">' in chinese.content.decode()


def test_missing_page_uses_the_404_template_within_the_layout(client):
    response = client.get("/en/no-such-page/")
    assert response.status_code == 404
    body = response.content.decode()
    assert "Page not found" in page_text(response)
    assert 'class="main-nav"' in body and 'href="/en/prices/"' in body


def test_server_error_template_renders_without_a_request():
    # Django renders 500.html with an empty context: the layout must survive that.
    with translation.override("en"):
        body = render_to_string("500.html")
    assert "Something went wrong" in body and 'class="main-nav"' in body

import pytest


@pytest.mark.django_db
def test_healthz_reports_application_and_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok" and body["database"]["status"] == "ok"
    assert body["database"]["vendor"] in ("sqlite", "postgresql")


@pytest.mark.postgres_only
@pytest.mark.django_db
def test_suite_runs_on_postgresql_with_the_trigram_index():
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname FROM pg_indexes WHERE indexname = 'catalog_item_search_trgm'")
        assert cursor.fetchone() is not None


@pytest.mark.django_db
def test_the_favicon_is_found(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 301 and response["Location"].endswith("img/favicon.svg")
    assert 'rel="icon"' in client.get("/en/").content.decode()

"""How search terms match: short terms, Chinese character pairs, and the count beside the page."""

from decimal import Decimal

import pytest
from django.db import connection

from laihua.catalog import services
from laihua.catalog.models import CatalogItem
from tests.builders import make_item

pytestmark = pytest.mark.django_db


def codes(query: str, **filters) -> set[str]:
    items, total, _exact = services.search(services.SearchQuery(q=query, **filters))
    assert total == len(items)
    return {item.code for item in items}


def test_a_two_letter_term_matches_the_start_of_a_word_not_its_middle(hospital):
    make_item(hospital, code="CT-01", en="CT scan of the abdomen", zh="腹部CT", keywords="")
    make_item(hospital, code="PET-01", en="PET-CT, whole body", zh="全身PET-CT", keywords="")
    make_item(hospital, code="GP-01", en="Doctor's consultation", zh="门诊", keywords="", kind="consultation")
    assert codes("ct") == {"CT-01", "PET-01"}
    assert codes("CT abdomen") == {"CT-01"}


def test_two_chinese_characters_match_anywhere_in_a_word(hospital):
    make_item(hospital, code="MRI-01", zh="核磁共振成像", keywords="MRI")
    make_item(hospital, code="US-01", en="Ultrasound", zh="腹部彩超", keywords="B超")
    assert codes("磁共") == {"MRI-01"}
    assert codes("核磁") == {"MRI-01"}
    assert codes("b超") == {"US-01"}
    assert codes("超") == {"US-01"}
    assert codes("磁超") == set()


def test_the_total_counts_every_match_beside_one_page(hospital, other_hospital):
    for number, price in enumerate(("900", "486", "650")):
        make_item(hospital if number else other_hospital, code=f"MRI-0{number}", price=Decimal(price))
    page, total, _exact = services.search(services.SearchQuery(q="mri", limit=2))
    assert total == 3 and [item.price_min for item in page] == [Decimal("486"), Decimal("650")]
    page, total, _exact = services.search(services.SearchQuery(q="mri", limit=2, offset=2))
    assert total == 3 and [item.price_min for item in page] == [Decimal("900")]
    page, total, _exact = services.search(services.SearchQuery(q="mri", limit=2, offset=4))
    assert page == [] and total == 3
    page, total, _exact = services.search(services.SearchQuery(q="mri", sort="-price", limit=1))
    assert total == 3 and page[0].price_min == Decimal("900") and page[0].price_from is not None


def test_the_count_stops_at_its_bound_and_says_so(hospital, monkeypatch):
    monkeypatch.setattr(services, "COUNT_LIMIT", 3)
    for number in range(5):
        make_item(hospital, code=f"MRI-0{number}", price=Decimal(500 + number))
    page, total, exact = services.search(services.SearchQuery(q="mri", limit=2))
    assert (total, exact) == (3, False) and [item.code for item in page] == ["MRI-00", "MRI-01"]
    # A deeper page counts to its own end at least.
    page, total, exact = services.search(services.SearchQuery(q="mri", limit=2, offset=2))
    assert (total, exact) == (4, False) and [item.code for item in page] == ["MRI-02", "MRI-03"]
    page, total, exact = services.search(services.SearchQuery(q="mri", limit=2, offset=4))
    assert (total, exact) == (5, True) and [item.code for item in page] == ["MRI-04"]
    # A first page that holds every match needs no count.
    assert services.search(services.SearchQuery(q="mri", limit=10))[1:] == (5, True)


def test_an_inexact_total_reads_as_a_lower_bound_on_the_page_and_the_api(hospital, client, monkeypatch):
    monkeypatch.setattr(services, "COUNT_LIMIT", 20)
    for number in range(25):
        make_item(hospital, code=f"MRI-{number:02}", price=Decimal(500 + number))
    answer = client.get("/api/catalog/search", {"q": "mri"}, secure=True).json()
    assert (answer["total"], answer["total_exact"], len(answer["results"])) == (20, False, 20)
    assert client.get("/api/catalog/search", {"q": "mri", "limit": 50}, secure=True).json()["total_exact"] is True
    page = client.get("/en/prices/", {"q": "mri"}, secure=True).content.decode()
    assert "More than 20 services and packages found" in page and 'rel="next"' in page and "Page 1 of" not in page
    last = client.get("/en/prices/", {"q": "mri", "page": 2}, secure=True).content.decode()
    assert "25 services and packages found" in last and 'rel="next"' not in last and "Page 2 of 2" in last


def test_a_price_filter_counts_only_items_priced_within_it(hospital):
    make_item(hospital, code="MRI-01", price=Decimal("486"))
    make_item(hospital, code="MRI-02", price=Decimal("600"), price_max=Decimal("900"))
    make_item(hospital, code="MRI-03", price=Decimal("1500"))
    assert codes("mri", price_min_cny=Decimal("700")) == {"MRI-02", "MRI-03"}
    assert codes("mri", price_max_cny=Decimal("500")) == {"MRI-01"}
    assert codes("mri", price_min_cny=Decimal("500"), price_max_cny=Decimal("1000")) == {"MRI-02"}


@pytest.mark.postgres_only
def test_postgres_lists_the_chinese_character_pairs_of_a_text():
    with connection.cursor() as cursor:
        cursor.execute("SELECT catalog_cjk_bigrams(%s)", ["mri 核磁共振（头部）"])
        assert sorted(cursor.fetchone()[0]) == sorted(["核磁", "磁共", "共振", "头部"])


@pytest.mark.postgres_only
def test_postgres_finds_a_chinese_pair_through_its_index(hospital):
    make_item(hospital, zh="核磁共振成像")
    items = CatalogItem.objects.all()
    query = services._matching(items, "核磁").query
    sql, params = query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "catalog_item_search_cjk_bigrams" in plan


def test_a_short_term_matches_a_word_after_any_separator(hospital):
    make_item(hospital, code="X-01", en="Chest (CT) and x-ray", zh="胸部", keywords="")
    make_item(hospital, code="X-02", en="Lung screening/ct follow-up", zh="肺部", keywords="")
    make_item(hospital, code="X-03", en="Hand surgery\nct guided", zh="手术", keywords="", kind="procedure")
    make_item(hospital, code="X-04", en="Octreotide scan", zh="奥曲肽", keywords="")
    assert codes("ct") == {"X-01", "X-02", "X-03"}
    assert codes("x") == {"X-01", "X-02", "X-03", "X-04"}  # every item's own code starts a word
    assert codes("ra") == {"X-01"}


@pytest.mark.postgres_only
def test_postgres_lists_the_first_letters_of_every_word():
    with connection.cursor() as cursor:
        cursor.execute("SELECT catalog_word_prefixes(%s)", ["ct-01 pet-ct (x/ray)\nab 核磁"])
        expected = ["c", "ct", "0", "01", "p", "pe", "x", "r", "ra", "a", "ab", "核", "核磁"]
        assert sorted(cursor.fetchone()[0]) == sorted(expected)


@pytest.mark.postgres_only
@pytest.mark.parametrize(
    ("term", "index"), [("ct", "catalog_item_search_prefixes"), ("核磁", "catalog_item_search_cjk_bigrams")]
)
def test_postgres_answers_short_terms_from_an_index_without_rereading_the_text(hospital, term, index):
    make_item(hospital, en="CT scan", zh="核磁共振成像")
    query = services._matching(CatalogItem.objects.all(), term).query
    sql, params = query.sql_with_params()
    assert "LIKE" not in sql  # the index answers exactly: no substring check row by row
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        # Nor a walk of a whole b-tree with the terms as a filter, which a tiny table's statistics may favour: a
        # term can then be answered only by a bitmap scan of an index made for it.
        cursor.execute("SET LOCAL enable_indexscan = off")
        cursor.execute("SET LOCAL enable_indexonlyscan = off")
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert index in plan


@pytest.mark.postgres_only
def test_postgres_ranks_a_kind_and_price_range_from_the_index_alone(hospital):
    make_item(hospital, code="MRI-01", price=Decimal("486"))
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_bitmapscan = off")
        query = services.SearchQuery(kind="imaging", price_min_cny=Decimal("100"), price_max_cny=Decimal("900"))
        ranked = services._priced_today(services._filtered(query), query).order_by(*services.SORTS["price"])
        sql, params = ranked.values_list("pk").query.sql_with_params()
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "catalog_item_kind_price_idx" in plan

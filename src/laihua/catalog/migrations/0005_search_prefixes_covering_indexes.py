"""Search indexes that answer the broad searches from the index alone, and short words exactly.

On PostgreSQL, catalog_word_prefixes() lists the first one and two characters of every word of the
search text (words split at white space, "-", "(" and "/"); the GIN index over it answers a one- or
two-letter term (CT, GP) as the start of a word without reading every row that merely holds the
letters, as the trigram index did (catalog.services._matching). The two partial indexes over the
published items carry every column the search ranks on (PostgreSQL's covering indexes), replacing
the plain index on kind and price.
"""

from django.db import migrations, models

CREATE_FUNCTION = r"""
CREATE OR REPLACE FUNCTION catalog_word_prefixes(value text) RETURNS text[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT coalesce(array_agg(DISTINCT left(word, n)), '{}')
  FROM regexp_split_to_table(value, '[\s(/-]+') AS word, (VALUES (1), (2)) AS lengths(n)
  WHERE word <> ''
$$
"""


def create_prefix_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(CREATE_FUNCTION)
    schema_editor.execute(
        "CREATE INDEX IF NOT EXISTS catalog_item_search_prefixes "
        "ON catalog_catalogitem USING gin (catalog_word_prefixes(search_text))"
    )


def drop_prefix_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("DROP INDEX IF EXISTS catalog_item_search_prefixes")
    schema_editor.execute("DROP FUNCTION IF EXISTS catalog_word_prefixes(text)")


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0004_current_price"),
        ("hospitals", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(create_prefix_index, drop_prefix_index),
        migrations.RemoveIndex(
            model_name="catalogitem",
            name="catalog_item_kind_price_idx",
        ),
        migrations.AddIndex(
            model_name="catalogitem",
            index=models.Index(
                condition=models.Q(("active", True), ("current_price_min__isnull", False)),
                fields=["kind", "current_price_min"],
                include=("current_price_max", "hospital", "code", "id"),
                name="catalog_item_kind_price_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="catalogitem",
            index=models.Index(
                condition=models.Q(("active", True), ("current_price_min__isnull", False)),
                fields=["hospital", "current_price_min"],
                include=("current_price_max", "code", "id"),
                name="catalog_item_hosp_price_idx",
            ),
        ),
    ]

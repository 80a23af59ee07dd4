"""Load the entry rules shipped in travel/data/ (the same checks and code as `laihua entry_rules load`)."""

from django.db import migrations


def load(apps, schema_editor):
    from laihua.travel import rules

    schemes = rules.read_schemes()
    rows = rules.read_countries(known_schemes=set(schemes))
    rules.write_rules(
        apps.get_model("travel", "EntryScheme"), apps.get_model("travel", "SchemeCountry"), schemes, rows, overwrite=False
    )


class Migration(migrations.Migration):
    dependencies = [("travel", "0001_initial")]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]

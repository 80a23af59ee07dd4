"""Load the ways to extend a stay shipped in travel/data/stay_extensions.csv (the same checks and code as
`laihua entry_rules load`)."""

from django.db import migrations


def load(apps, schema_editor):
    from laihua.travel import rules

    schemes = apps.get_model("travel", "EntryScheme")
    rows = rules.read_extensions(known_schemes=set(schemes.objects.values_list("code", flat=True)))
    rules.write_extensions(schemes, apps.get_model("travel", "StayExtension"), rows, rules.LoadSummary(), overwrite=False)


class Migration(migrations.Migration):
    dependencies = [("travel", "0004_stay_flights_accommodation")]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]

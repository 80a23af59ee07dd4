"""Summaries written before the structure (lines of "a | b": diagnoses "code | text", procedures "text |
date", medications "medicine | dosage in words", follow-up as text) read into it: ICD-10 codes checked,
a text written in two languages ("Tear of meniscus / 半月板撕裂") split into its two, dosages in words
("1 tablet by mouth twice a day for 7 days") as dose, unit, route, frequency and duration, dated
follow-up lines as follow-up instructions. What cannot be read is kept as written: a dosage as the
dosage's text, other lines in `unparsed`."""

from django.db import migrations


def forwards(apps, schema_editor):
    from laihua.records.discharge import from_legacy

    EpisodeSummary = apps.get_model("records", "EpisodeSummary")
    for summary in EpisodeSummary.objects.all().iterator():
        rows = [*summary.diagnoses, *summary.procedures, *summary.medications]
        if summary.follow_ups or any("system" in row for row in rows):
            continue  # already structured
        new, kept = from_legacy(
            {
                "diagnoses": summary.diagnoses,
                "procedures": summary.procedures,
                "medications": summary.medications,
                "follow_up": summary.follow_up,
            }
        )
        for name, value in new.items():
            setattr(summary, name, value)
        summary.unparsed = "\n".join([summary.unparsed, *kept]).strip()
        summary.save(update_fields=[*new, "unparsed"])


class Migration(migrations.Migration):
    dependencies = [("records", "0006_structured_discharge_summary")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]

"""Items that are one form a group named by its first item (`anchor`); each key digest is kept once per case,
with its group's first item, so that an import reads and writes what its own document needs, not every
earlier version of its items (records/distinct.py)."""

import django.db.models.functions.comparison
from django.db import migrations, models


def group_items(apps, schema_editor):
    from laihua.records.distinct import digest, groups, newest, recency

    ClinicalItem = apps.get_model("records", "ClinicalItem")
    ClinicalItemKey = apps.get_model("records", "ClinicalItemKey")
    for case_id in ClinicalItem.objects.order_by().values_list("case_id", flat=True).distinct():
        ClinicalItemKey.objects.filter(case_id=case_id).delete()
        rows, current = [], {}
        query = ClinicalItem.objects.filter(case_id=case_id).values_list(
            "pk", "document_id", "position", "source_keys", "document__timestamp", "document__created_at", "current"
        )
        for pk, document_id, position, keys, timestamp, created, is_current in query.iterator(chunk_size=2000):
            digests = sorted({digest(key) for key in keys or []})
            rows.append((pk, document_id, position, digests, recency(timestamp, created, document_id)))
            current[pk] = is_current
        keys, changed = [], []
        for members in groups(rows):
            kept = rows[newest(rows, members)][0]
            first = min(rows[index][0] for index in members)
            everything = sorted({value for index in members for value in rows[index][3]})
            keys.extend(ClinicalItemKey(case_id=case_id, item_id=first, digest=value) for value in everything)
            for index in members:
                pk = rows[index][0]
                anchor = None if pk == first else first
                if anchor is not None or current[pk] != (pk == kept):
                    changed.append(ClinicalItem(pk=pk, anchor=anchor, current=pk == kept))
        ClinicalItemKey.objects.bulk_create(keys, batch_size=1000)
        ClinicalItem.objects.bulk_update(changed, ["anchor", "current"], batch_size=1000)


def keys_on_every_item(apps, schema_editor):
    from laihua.records.distinct import digest

    ClinicalItem = apps.get_model("records", "ClinicalItem")
    ClinicalItemKey = apps.get_model("records", "ClinicalItemKey")
    ClinicalItemKey.objects.all().delete()
    batch = []
    for pk, case_id, keys in ClinicalItem.objects.values_list("pk", "case_id", "source_keys").iterator(chunk_size=2000):
        batch.extend(
            ClinicalItemKey(case_id=case_id, item_id=pk, digest=value)
            for value in sorted({digest(key) for key in keys or []})
        )
        if len(batch) >= 5000:
            ClinicalItemKey.objects.bulk_create(batch)
            batch = []
    ClinicalItemKey.objects.bulk_create(batch)


class Migration(migrations.Migration):
    dependencies = [("records", "0011_transfer_code_address")]

    operations = [
        migrations.AddField(
            model_name="clinicalitem",
            name="anchor",
            field=models.BigIntegerField(blank=True, editable=False, null=True),
        ),
        migrations.AddIndex(
            model_name="clinicalitem",
            index=models.Index(
                django.db.models.functions.comparison.Coalesce("anchor", "id"),
                condition=models.Q(("current", True)),
                name="clinical_item_group_idx",
            ),
        ),
        migrations.RunPython(group_items, keys_on_every_item),
    ]

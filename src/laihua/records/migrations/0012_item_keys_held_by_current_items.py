"""The items' key digests held by current items only: each current item holds the digests of every item it
stands for, so that an import looks up one row per item it meets, not every earlier version of it
(records/distinct.py)."""

from django.db import migrations


def hold_keys_on_current_items(apps, schema_editor):
    from laihua.records.distinct import digest, groups, newest, recency

    ClinicalItem = apps.get_model("records", "ClinicalItem")
    ClinicalItemKey = apps.get_model("records", "ClinicalItemKey")
    for case_id in ClinicalItem.objects.order_by().values_list("case_id", flat=True).distinct():
        ClinicalItemKey.objects.filter(case_id=case_id).delete()
        rows, currently = [], set()
        query = ClinicalItem.objects.filter(case_id=case_id).values_list(
            "pk", "document_id", "position", "source_keys", "document__timestamp", "document__created_at", "current"
        )
        for pk, document_id, position, keys, timestamp, created, current in query.iterator(chunk_size=2000):
            digests = sorted({digest(key) for key in keys or []})
            rows.append((pk, document_id, position, digests, recency(timestamp, created, document_id)))
            if current:
                currently.add(pk)
        chosen, held = set(), []
        for members in groups(rows):
            kept = rows[newest(rows, members)][0]
            chosen.add(kept)
            everything = sorted({value for index in members for value in rows[index][3]})
            held.extend(ClinicalItemKey(case_id=case_id, item_id=kept, digest=value) for value in everything)
        ClinicalItemKey.objects.bulk_create(held, batch_size=1000)
        if chosen != currently:
            ClinicalItem.objects.filter(pk__in=sorted(currently - chosen)).update(current=False)
            ClinicalItem.objects.filter(pk__in=sorted(chosen - currently)).update(current=True)


def keys_on_every_item(apps, schema_editor):
    from laihua.records.distinct import digest

    ClinicalItem = apps.get_model("records", "ClinicalItem")
    ClinicalItemKey = apps.get_model("records", "ClinicalItemKey")
    ClinicalItemKey.objects.all().delete()
    batch = []
    for pk, case_id, keys in ClinicalItem.objects.values_list("pk", "case_id", "source_keys").iterator(chunk_size=2000):
        batch.extend(
            ClinicalItemKey(case_id=case_id, item_id=pk, digest=value)
            for value in sorted({digest(k) for k in keys or []})
        )
        if len(batch) >= 5000:
            ClinicalItemKey.objects.bulk_create(batch)
            batch = []
    ClinicalItemKey.objects.bulk_create(batch)


class Migration(migrations.Migration):
    dependencies = [("records", "0011_transfer_code_address")]

    operations = [migrations.RunPython(hold_keys_on_current_items, keys_on_every_item)]

"""Stored documents compressed and encrypted at rest (an imported document's Patient may carry a passport
number), and each case's distinct items decided once: a `current` flag and the items' keys as digests,
with the partial indexes that list current items newest first (by kind, by status) and a case's
documents newest first. Existing documents are sealed and existing items' keys and flags computed."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

import laihua.kit.crypto


def seal_documents(apps, schema_editor):
    from laihua.kit.crypto import SEALED_PREFIX, seal

    IpsDocument = apps.get_model("records", "IpsDocument")
    for pk, content in IpsDocument.objects.values_list("pk", "content").iterator(chunk_size=100):
        if content and not content.startswith(SEALED_PREFIX):
            IpsDocument.objects.filter(pk=pk).update(content=seal(content))


def unseal_documents(apps, schema_editor):
    from laihua.kit.crypto import SEALED_PREFIX, unseal

    IpsDocument = apps.get_model("records", "IpsDocument")
    for pk, content in IpsDocument.objects.values_list("pk", "content").iterator(chunk_size=100):
        if content and content.startswith(SEALED_PREFIX):
            IpsDocument.objects.filter(pk=pk).update(content=unseal(content))


def settle_items(apps, schema_editor):
    from laihua.records.distinct import choose, digest, recency

    ClinicalItem = apps.get_model("records", "ClinicalItem")
    ClinicalItemKey = apps.get_model("records", "ClinicalItemKey")
    for case_id in ClinicalItem.objects.order_by().values_list("case_id", flat=True).distinct():
        rows, keys = [], []
        query = ClinicalItem.objects.filter(case_id=case_id).values_list(
            "pk", "document_id", "position", "source_keys", "document__timestamp", "document__created_at"
        )
        for pk, document_id, position, source_keys, timestamp, created in query.iterator(chunk_size=2000):
            rows.append((pk, document_id, position, source_keys or [], recency(timestamp, created, document_id)))
            keys.extend(
                ClinicalItemKey(case_id=case_id, item_id=pk, digest=value)
                for value in {digest(key) for key in source_keys or []}
            )
        ClinicalItemKey.objects.bulk_create(keys, batch_size=1000)
        chosen = choose(rows)
        ClinicalItem.objects.filter(case_id=case_id).exclude(pk__in=chosen).update(current=False)


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0001_initial"),
        ("hospitals", "0001_initial"),
        ("patients", "0002_given_names_optional"),
        ("records", "0007_discharge_summaries_from_pipe_text"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RunPython(seal_documents, unseal_documents),
        migrations.CreateModel(
            name="ClinicalItemKey",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("digest", models.CharField(max_length=32)),
            ],
        ),
        migrations.AddField(
            model_name="clinicalitem",
            name="current",
            field=models.BooleanField(default=True),
        ),
        migrations.AlterField(
            model_name="ipsdocument",
            name="content",
            field=laihua.kit.crypto.SealedTextField(verbose_name="document as received"),
        ),
        migrations.AddIndex(
            model_name="clinicalitem",
            index=models.Index(
                condition=models.Q(("current", True)),
                fields=["case", "-document", "position"],
                name="clinical_item_current_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="clinicalitem",
            index=models.Index(
                condition=models.Q(("current", True)),
                fields=["case", "kind", "-document", "position"],
                name="clinical_item_kind_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="clinicalitem",
            index=models.Index(
                condition=models.Q(("current", True)), fields=["case", "status"], name="clinical_item_status_idx"
            ),
        ),
        migrations.AddIndex(
            model_name="ipsdocument",
            index=models.Index(fields=["case", "-created_at", "-id"], name="ips_document_case_newest_idx"),
        ),
        migrations.AddField(
            model_name="clinicalitemkey",
            name="case",
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="+", to="cases.case"),
        ),
        migrations.AddField(
            model_name="clinicalitemkey",
            name="item",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE, related_name="keys", to="records.clinicalitem"
            ),
        ),
        migrations.AddIndex(
            model_name="clinicalitemkey",
            index=models.Index(fields=["case", "digest"], name="clinical_item_key_idx"),
        ),
        migrations.RunPython(settle_items, migrations.RunPython.noop),
    ]

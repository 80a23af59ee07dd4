"""Invitation letters print passport numbers: their snapshot and PDF are stored encrypted from now on.

Three steps so that no row is ever read in a shape its field does not expect: add encrypted columns, copy
every letter into them (encrypting with the newest field key), drop the plain columns and take their names."""

from django.db import migrations

import laihua.kit.crypto


def seal(apps, schema_editor):
    letters = apps.get_model("travel", "InvitationLetter")
    for letter in letters.objects.all().iterator(chunk_size=200):
        letter.snapshot_sealed = letter.snapshot
        letter.pdf_sealed = bytes(letter.pdf)
        letter.save(update_fields=["snapshot_sealed", "pdf_sealed"])


def unseal(apps, schema_editor):
    letters = apps.get_model("travel", "InvitationLetter")
    for letter in letters.objects.all().iterator(chunk_size=200):
        letter.snapshot = letter.snapshot_sealed
        letter.pdf = bytes(letter.pdf_sealed)
        letter.save(update_fields=["snapshot", "pdf"])


class Migration(migrations.Migration):
    dependencies = [("travel", "0002_load_entry_rules")]

    operations = [
        migrations.AddField(
            model_name="invitationletter",
            name="snapshot_sealed",
            field=laihua.kit.crypto.EncryptedJSONField(default=dict, verbose_name="fields as printed"),
        ),
        migrations.AddField(
            model_name="invitationletter",
            name="pdf_sealed",
            field=laihua.kit.crypto.EncryptedBinaryField(default=b"", editable=False, verbose_name="PDF"),
        ),
        migrations.RunPython(seal, unseal),
        migrations.RemoveField(model_name="invitationletter", name="snapshot"),
        migrations.RemoveField(model_name="invitationletter", name="pdf"),
        migrations.RenameField(model_name="invitationletter", old_name="snapshot_sealed", new_name="snapshot"),
        migrations.RenameField(model_name="invitationletter", old_name="pdf_sealed", new_name="pdf"),
        migrations.AlterField(
            model_name="invitationletter",
            name="pdf",
            field=laihua.kit.crypto.EncryptedBinaryField(editable=False, verbose_name="PDF"),
        ),
    ]

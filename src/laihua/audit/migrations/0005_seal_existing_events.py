"""Chain the events recorded before the hash chain existed, in the order they were recorded (by id)."""

from django.db import migrations


def seal(apps, schema_editor):
    from laihua.audit.chain import seal_pending

    seal_pending(
        apps.get_model("audit", "AuditEvent"), apps.get_model("audit", "AuditChainHead"), schema_editor.connection.alias
    )


class Migration(migrations.Migration):
    dependencies = [("audit", "0004_hash_chain")]
    # Unsealing would change events; going back further drops the chain's columns anyway.
    operations = [migrations.RunPython(seal, migrations.RunPython.noop)]

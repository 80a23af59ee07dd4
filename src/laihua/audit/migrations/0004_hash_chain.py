"""The hash chain: each event's place, the previous event's hash and its own (audit/chain.py), and the one-row
chain head. On PostgreSQL the append-only trigger now lets an event be sealed once (its chain columns set,
nothing else changed), and the head may only move forward and never be removed."""

from django.db import migrations, models

TRIGGERS = """
CREATE OR REPLACE FUNCTION audit_event_append_only() RETURNS trigger AS $$
BEGIN
  IF TG_OP = 'UPDATE' THEN
    IF OLD.seq IS NULL AND NEW.seq IS NOT NULL
       AND to_jsonb(NEW) - 'seq' - 'prev_hash' - 'hash' = to_jsonb(OLD) - 'seq' - 'prev_hash' - 'hash' THEN
      RETURN NEW;
    END IF;
  END IF;
  RAISE EXCEPTION 'audit events are append-only';
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION audit_chain_head_guard() RETURNS trigger AS $$
BEGIN
  IF TG_OP = 'UPDATE' THEN
    IF NEW.id = OLD.id AND NEW.seq >= OLD.seq THEN
      RETURN NEW;
    END IF;
    RAISE EXCEPTION 'the audit chain head only moves forward';
  END IF;
  RAISE EXCEPTION 'the audit chain head cannot be removed';
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS audit_chain_head_guard ON audit_auditchainhead;
CREATE TRIGGER audit_chain_head_guard BEFORE UPDATE OR DELETE ON audit_auditchainhead
  FOR EACH ROW EXECUTE FUNCTION audit_chain_head_guard();
DROP TRIGGER IF EXISTS audit_chain_head_no_truncate ON audit_auditchainhead;
CREATE TRIGGER audit_chain_head_no_truncate BEFORE TRUNCATE ON audit_auditchainhead
  FOR EACH STATEMENT EXECUTE FUNCTION audit_chain_head_guard();
"""

UNDO = """
DROP TRIGGER IF EXISTS audit_chain_head_guard ON audit_auditchainhead;
DROP TRIGGER IF EXISTS audit_chain_head_no_truncate ON audit_auditchainhead;
DROP FUNCTION IF EXISTS audit_chain_head_guard();
CREATE OR REPLACE FUNCTION audit_event_append_only() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION 'audit events are append-only';
END;
$$ LANGUAGE plpgsql;
"""


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(TRIGGERS)


def undo(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(UNDO)


class Migration(migrations.Migration):

    dependencies = [
        ('audit', '0003_no_truncate'),
    ]

    operations = [
        migrations.AddField(
            model_name='auditevent',
            name='hash',
            field=models.CharField(blank=True, default='', editable=False, max_length=64, verbose_name='hash'),
        ),
        migrations.AddField(
            model_name='auditevent',
            name='prev_hash',
            field=models.CharField(blank=True, default='', editable=False, max_length=64, verbose_name="previous event's hash"),
        ),
        migrations.AddField(
            model_name='auditevent',
            name='seq',
            field=models.BigIntegerField(blank=True, editable=False, null=True, unique=True, verbose_name='place in the chain'),
        ),
        migrations.CreateModel(
            name='AuditChainHead',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('seq', models.BigIntegerField(default=0)),
                ('hash', models.CharField(blank=True, default='', max_length=64)),
            ],
            options={
                'verbose_name': 'audit chain head',
                'verbose_name_plural': 'audit chain head',
                'constraints': [models.CheckConstraint(condition=models.Q(('id', 1)), name='audit_chain_head_one_row')],
            },
        ),
        migrations.RunPython(create, undo),
    ]

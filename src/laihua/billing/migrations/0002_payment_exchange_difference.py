"""Payments in the patient's currency: an issued invoice's parts pinned in that currency, and per payment what it
settles in CNY and its exchange gain or loss. Existing payments settle what they were worth in CNY."""

from decimal import Decimal

from django.db import migrations, models


def settle_existing(apps, schema_editor):
    Payment = apps.get_model("billing", "Payment")
    Payment.objects.update(settled_cny=models.F("amount_cny"))


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="invoice",
            name="insurer_converted",
            field=models.DecimalField(
                blank=True,
                decimal_places=2,
                max_digits=14,
                null=True,
                verbose_name="insurer's part (patient's currency)",
            ),
        ),
        migrations.AddField(
            model_name="invoice",
            name="patient_converted",
            field=models.DecimalField(
                blank=True,
                decimal_places=2,
                max_digits=14,
                null=True,
                verbose_name="patient's part (patient's currency)",
            ),
        ),
        migrations.AddField(
            model_name="payment",
            name="exchange_difference_cny",
            field=models.DecimalField(
                decimal_places=2, default=Decimal("0.00"), max_digits=14, verbose_name="exchange gain or loss (CNY)"
            ),
        ),
        migrations.AddField(
            model_name="payment",
            name="pinned_rate",
            field=models.DecimalField(
                blank=True, decimal_places=8, max_digits=18, null=True, verbose_name="pinned rate"
            ),
        ),
        migrations.AddField(
            model_name="payment",
            name="settled_cny",
            field=models.DecimalField(
                decimal_places=2, default=Decimal("0.00"), max_digits=14, verbose_name="settled (CNY)"
            ),
            preserve_default=False,
        ),
        migrations.RunPython(settle_existing, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="payment",
            constraint=models.CheckConstraint(
                condition=models.Q(("settled_cny__gte", 0)), name="payment_settled_not_negative"
            ),
        ),
        migrations.AddConstraint(
            model_name="payment",
            constraint=models.CheckConstraint(
                condition=models.Q(("pinned_rate__isnull", False), ("exchange_difference_cny", 0), _connector="OR"),
                name="payment_exchange_only_at_pin",
            ),
        ),
    ]

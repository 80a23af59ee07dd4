"""Monthly roll-ups of each hospital's cases, quotes, invoices and payments: what the analytics pages read.

The roll-ups are rebuilt per hospital by the refresh job (services/rollup.py), never written by hand. Every
figure is attributed to the month its event happened: an inquiry to the month the case was opened, a quote
to the month it was sent, an arrival to the month of the move to arrived, an invoice to its issue date, a
payment to the day it was received. Durations are kept as histograms ({value: count}) so that medians and
90th percentiles combine exactly across months, dimensions and hospitals."""

from decimal import Decimal

from django.db import models
from django.utils.translation import gettext_lazy as _

MONEY = {"max_digits": 16, "decimal_places": 2}

COUNTS = ("inquiries", "quotes", "acceptances", "arrivals", "discharges", "responses", "responses_on_time")
AMOUNTS = (
    "invoiced_cny",
    "invoiced_self_pay_cny",
    "invoiced_insurer_cny",
    "collected_cny",
    "collected_self_pay_cny",
    "collected_insurer_cny",
)
HISTOGRAMS = ("response_minutes", "quote_days", "arrival_days", "stay_days")


class Figures(models.Model):
    """The figures of one month (and, for the cube, one country, department and service)."""

    hospital = models.ForeignKey("hospitals.Hospital", on_delete=models.CASCADE, related_name="+")
    month = models.DateField(_("month"))
    inquiries = models.PositiveIntegerField(default=0)
    quotes = models.PositiveIntegerField(default=0)
    acceptances = models.PositiveIntegerField(default=0)
    arrivals = models.PositiveIntegerField(default=0)
    discharges = models.PositiveIntegerField(default=0)
    responses = models.PositiveIntegerField(default=0)
    responses_on_time = models.PositiveIntegerField(default=0)
    invoiced_cny = models.DecimalField(default=Decimal("0.00"), **MONEY)
    invoiced_self_pay_cny = models.DecimalField(default=Decimal("0.00"), **MONEY)
    invoiced_insurer_cny = models.DecimalField(default=Decimal("0.00"), **MONEY)
    collected_cny = models.DecimalField(default=Decimal("0.00"), **MONEY)
    collected_self_pay_cny = models.DecimalField(default=Decimal("0.00"), **MONEY)
    collected_insurer_cny = models.DecimalField(default=Decimal("0.00"), **MONEY)
    # Histograms {"value": count}: minutes to the first answer (by inquiry month), days from inquiry to the
    # first quote sent (by quote month) and to arrival (by arrival month), length of stay in days (by discharge
    # month), and days from issue to payment by insurer {"insurer": {"days": count}} (by payment month).
    response_minutes = models.JSONField(default=dict)
    quote_days = models.JSONField(default=dict)
    arrival_days = models.JSONField(default=dict)
    stay_days = models.JSONField(default=dict)
    payment_days = models.JSONField(default=dict)

    class Meta:
        abstract = True


class HospitalMonth(Figures):
    """One hospital's figures for one month, every case together: what an unfiltered page reads."""

    class Meta:
        verbose_name = _("hospital month")
        constraints = [models.UniqueConstraint(fields=["hospital", "month"], name="analytics_hospital_month_unique")]

    def __str__(self):
        return f"{self.hospital_id} {self.month:%Y-%m}"


class CubeMonth(Figures):
    """One hospital's figures for one month, patient country, department and service: what a filtered page
    or a breakdown reads. A case's service is the first catalog service it asked about (lowest id)."""

    country = models.CharField(max_length=2, blank=True)
    department_id = models.IntegerField(null=True)
    service_id = models.IntegerField(null=True)

    class Meta:
        verbose_name = _("month by country, department and service")
        indexes = [models.Index(fields=["hospital", "month"], name="analytics_cube_hospital_month")]

    def __str__(self):
        return f"{self.hospital_id} {self.month:%Y-%m} {self.country} {self.department_id} {self.service_id}"


class RefreshState(models.Model):
    """When a hospital's roll-ups were last rebuilt, shown on every analytics page."""

    hospital = models.OneToOneField("hospitals.Hospital", on_delete=models.CASCADE, related_name="+")
    started_at = models.DateTimeField()
    refreshed_at = models.DateTimeField()
    cases = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("analytics refresh")

    def __str__(self):
        return f"{self.hospital_id} {self.refreshed_at:%Y-%m-%d %H:%M}"


class ViewSnapshot(models.Model):
    """A page's views (tables and charts) as the refresh job built them, for the default period and each
    language: a page whose views are in no application server's cache reads them here in one query rather
    than from the roll-ups. The key is the page's cache key (figures.cached_views), which holds the
    hospitals' refresh stamps, so a snapshot is never read for newer roll-ups; the job deletes the older
    ones. hospital is empty for the city's page."""

    key = models.CharField(max_length=64, primary_key=True)
    hospital = models.ForeignKey("hospitals.Hospital", on_delete=models.CASCADE, null=True, related_name="+")
    language = models.CharField(max_length=10)
    views = models.JSONField()
    built_at = models.DateTimeField()

    class Meta:
        verbose_name = _("analytics view snapshot")

    def __str__(self):
        return f"{self.hospital_id or 'city'} {self.language} {self.built_at:%Y-%m-%d %H:%M}"

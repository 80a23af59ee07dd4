"""The monthly roll-up the public fairness report is served from: for each hospital, month and kind of
resource, the units international patients used, the capacity and the international cap of the month, and
how many patients the units were used by. Never patient data: counts only.

Rows are kept current by booking changes (capacity.signals.bookings_changed: a job recounts the hospital's
changed months on commit) and rebuilt whole by `laihua fairness refresh` (capacity changes, new months)."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from laihua.capacity.models import ResourceKind


class Category(models.TextChoices):
    """The kinds of resource the public report speaks of."""

    OUTPATIENT = "outpatient_visits", _("Outpatient visits")
    IMAGING = "imaging", _("Imaging")
    THEATRE = "theatre_time", _("Theatre time")
    BED_DAYS = "bed_days", _("Bed-days")


CATEGORY_OF_KIND = {
    ResourceKind.CLINIC_SESSION: Category.OUTPATIENT,
    ResourceKind.MRI: Category.IMAGING,
    ResourceKind.CT: Category.IMAGING,
    ResourceKind.PET: Category.IMAGING,
    ResourceKind.THEATRE: Category.THEATRE,
    ResourceKind.BED: Category.BED_DAYS,
}

UNIT_OF_CATEGORY = {
    Category.OUTPATIENT: "visit",
    Category.IMAGING: "slot",
    Category.THEATRE: "theatre_hour",
    Category.BED_DAYS: "bed_day",
}


class MonthlyUse(models.Model):
    """One hospital's international use of one kind of resource in one month, against its cap."""

    hospital = models.ForeignKey(
        "hospitals.Hospital", on_delete=models.CASCADE, related_name="+", verbose_name=_("hospital")
    )
    month = models.DateField(_("month"), help_text=_("The first day of the month."))
    category = models.CharField(_("kind of resource"), max_length=20, choices=Category.choices)
    used = models.PositiveBigIntegerField(_("international use"), default=0)
    capacity = models.PositiveBigIntegerField(_("capacity in the month"), default=0)
    cap = models.PositiveBigIntegerField(_("international cap in the month"), default=0)
    patients = models.PositiveIntegerField(_("international patients"), default=0)
    updated_at = models.DateTimeField(_("computed at"))

    class Meta:
        verbose_name = _("monthly international use")
        verbose_name_plural = _("monthly international use")
        ordering = ["month", "hospital", "category"]
        constraints = [
            models.UniqueConstraint(fields=["hospital", "month", "category"], name="fairness_monthly_use_unique")
        ]
        indexes = [models.Index(fields=["month", "category"], name="fairness_month_idx")]

    def __str__(self):
        return f"{self.hospital_id} {self.month:%Y-%m} {self.category}: {self.used}/{self.capacity}"


class PendingRecount(models.Model):
    """A hospital's month whose bookings changed since its roll-up was last recounted. Written after each
    booking change (one upsert); the recount job, or the next read of the report, recounts the month and
    removes the row if no booking changed it meanwhile (`version` grows with each change)."""

    hospital = models.ForeignKey(
        "hospitals.Hospital", on_delete=models.CASCADE, related_name="+", verbose_name=_("hospital")
    )
    month = models.DateField(_("month"), help_text=_("The first day of the month."))
    version = models.PositiveBigIntegerField(_("changes"), default=1)

    class Meta:
        verbose_name = _("recount waiting")
        verbose_name_plural = _("recounts waiting")
        constraints = [models.UniqueConstraint(fields=["hospital", "month"], name="fairness_pending_recount_unique")]

    def __str__(self):
        return f"{self.hospital_id} {self.month:%Y-%m} ({self.version})"


class RefreshKind(models.TextChoices):
    USE = "use", _("International use")
    REAL_PRICES = "real_prices", _("Real prices")


class Refresh(models.Model):
    """One whole recount (the job), so that the report can say when it last ran."""

    kind = models.CharField(_("what was recounted"), max_length=20, choices=RefreshKind.choices)
    started_at = models.DateTimeField(_("started"))
    finished_at = models.DateTimeField(_("finished"))
    rows = models.PositiveIntegerField(_("rows written"), default=0)

    class Meta:
        verbose_name = _("recount")
        verbose_name_plural = _("recounts")
        ordering = ["-finished_at", "-pk"]
        indexes = [models.Index(fields=["kind", "-finished_at"], name="fairness_refresh_idx")]

    def __str__(self):
        return f"{self.kind} {self.finished_at:%Y-%m-%d %H:%M}"

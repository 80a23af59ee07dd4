"""Resources a hospital books (scanners, theatres, beds, clinic sessions), their capacity by day,
the international share of it, what each catalog service consumes, and the bookings that take it.

IntlUsage rows are the lock targets: one per (resource, day) and one per (resource, month) (kind
"month", day = the 1st). Booking locks them with SELECT ... FOR UPDATE, checks the caps and adds."""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from laihua.kit.i18n import TranslatedField, pick

DEFAULT_SHARE = Decimal("0.10")
# Bounds on what may be entered, far inside PostgreSQL's integer columns (2,147,483,647): a capacity a day,
# and what one service takes of a resource (units a day, from which day, for how many days).
MAX_CAPACITY = 100_000
MAX_USAGE_UNITS = 1000
MAX_USAGE_OFFSET = 90
MAX_USAGE_DAYS = 90


class ResourceKind(models.TextChoices):
    CLINIC_SESSION = "clinic_session", _("Clinic session")
    MRI = "mri", _("MRI scanner")
    CT = "ct", _("CT scanner")
    PET = "pet", _("PET scanner")
    THEATRE = "theatre", _("Operating theatre")
    BED = "bed", _("Inpatient beds")


class Unit(models.TextChoices):
    VISIT = "visit", _("visits")
    SLOT = "slot", _("slots")
    THEATRE_HOUR = "theatre_hour", _("theatre hours")
    BED_DAY = "bed_day", _("bed-days")


class Resource(models.Model):
    """Something with a daily capacity in its own unit, of which the international share may be booked."""

    hospital = models.ForeignKey(
        "hospitals.Hospital", on_delete=models.CASCADE, related_name="resources", verbose_name=_("hospital")
    )
    department = models.ForeignKey(
        "hospitals.Department",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="resources",
        verbose_name=_("department"),
    )
    code = models.SlugField(_("code"), max_length=40, help_text=_("The hospital's own code, used in CSV files."))
    kind = models.CharField(_("kind"), max_length=20, choices=ResourceKind.choices)
    name = TranslatedField(_("name"))
    unit = models.CharField(_("unit"), max_length=20, choices=Unit.choices)
    daily_capacity = models.PositiveIntegerField(
        _("capacity per day"), default=0, validators=[MaxValueValidator(MAX_CAPACITY)]
    )
    opening_hours = models.CharField(_("opening hours"), max_length=200, blank=True)
    intl_share = models.DecimalField(
        _("international share"),
        max_digits=4,
        decimal_places=3,
        default=DEFAULT_SHARE,
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("1"))],
        help_text=_("The share of capacity international patients may book, e.g. 0.10 for 10%."),
    )
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("resource")
        verbose_name_plural = _("resources")
        ordering = ["hospital", "code"]
        constraints = [
            models.UniqueConstraint(fields=["hospital", "code"], name="resource_code_unique"),
            models.CheckConstraint(
                name="resource_share_between_0_and_1", condition=Q(intl_share__gte=0) & Q(intl_share__lte=1)
            ),
        ]

    def __str__(self):
        return f"{self.code} {pick(self.name)}"

    def clean(self):
        from django.core.exceptions import ValidationError

        maximum = Decimal(str(getattr(settings, "LAIHUA_QUOTA_MAX_SHARE", DEFAULT_SHARE)))
        if self.intl_share is not None and self.intl_share > maximum:
            raise ValidationError(
                {"intl_share": _("The share may not be above the platform maximum of %(max)s.") % {"max": maximum}}
            )


class CapacityDay(models.Model):
    """The capacity of one day when it differs from the default: a closure, a holiday, extra sessions."""

    resource = models.ForeignKey(Resource, on_delete=models.CASCADE, related_name="days", verbose_name=_("resource"))
    day = models.DateField(_("day"))
    capacity = models.PositiveIntegerField(_("capacity"), default=0, validators=[MaxValueValidator(MAX_CAPACITY)])
    closed = models.BooleanField(_("closed"), default=False)
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("capacity of a day")
        verbose_name_plural = _("capacity of days")
        ordering = ["resource", "day"]
        constraints = [models.UniqueConstraint(fields=["resource", "day"], name="capacity_day_unique")]

    def __str__(self):
        return f"{self.resource.code} {self.day}: {0 if self.closed else self.capacity}"


class ServiceUsage(models.Model):
    """What one catalog service takes of a resource: `units` a day on `days` days from `day_offset`."""

    item = models.ForeignKey(
        "catalog.CatalogItem", on_delete=models.CASCADE, related_name="usages", verbose_name=_("service")
    )
    resource = models.ForeignKey(Resource, on_delete=models.CASCADE, related_name="usages", verbose_name=_("resource"))
    units = models.PositiveIntegerField(
        _("units per day"), default=1, validators=[MinValueValidator(1), MaxValueValidator(MAX_USAGE_UNITS)]
    )
    day_offset = models.PositiveIntegerField(_("from day"), default=0, validators=[MaxValueValidator(MAX_USAGE_OFFSET)])
    days = models.PositiveIntegerField(
        _("number of days"), default=1, validators=[MinValueValidator(1), MaxValueValidator(MAX_USAGE_DAYS)]
    )

    class Meta:
        verbose_name = _("service usage")
        verbose_name_plural = _("service usages")
        ordering = ["item", "day_offset", "resource"]
        constraints = [
            models.CheckConstraint(name="usage_units_positive", condition=Q(units__gte=1)),
            models.CheckConstraint(name="usage_days_positive", condition=Q(days__gte=1)),
        ]

    def __str__(self):
        return f"{self.item.code}: {self.units} × {self.resource.code} × {self.days}"


class BookingRequest(models.Model):
    """One request to book a service for a case; its idempotency key is unique per hospital."""

    hospital = models.ForeignKey("hospitals.Hospital", on_delete=models.CASCADE, related_name="+")
    idempotency_key = models.CharField(_("idempotency key"), max_length=100)
    case = models.ForeignKey(
        "cases.Case", on_delete=models.CASCADE, related_name="booking_requests", verbose_name=_("case")
    )
    item = models.ForeignKey(
        "catalog.CatalogItem", on_delete=models.PROTECT, related_name="+", verbose_name=_("service")
    )
    start_day = models.DateField(_("first day"))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("booking request")
        verbose_name_plural = _("booking requests")
        constraints = [models.UniqueConstraint(fields=["hospital", "idempotency_key"], name="booking_key_unique")]

    def __str__(self):
        return f"{self.case} {self.item.code} {self.start_day}"


class BookingStatus(models.TextChoices):
    BOOKED = "booked", _("Booked")
    CANCELLED = "cancelled", _("Cancelled")


class Booking(models.Model):
    """Units of one resource on one day taken for a case (FHIR Appointment-like status codes)."""

    request = models.ForeignKey(BookingRequest, on_delete=models.CASCADE, related_name="bookings")
    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="bookings", verbose_name=_("case"))
    item = models.ForeignKey(
        "catalog.CatalogItem", on_delete=models.PROTECT, related_name="+", verbose_name=_("service")
    )
    resource = models.ForeignKey(
        Resource, on_delete=models.PROTECT, related_name="bookings", verbose_name=_("resource")
    )
    day = models.DateField(_("day"))
    units = models.PositiveIntegerField(_("units"))
    status = models.CharField(_("status"), max_length=12, choices=BookingStatus.choices, default=BookingStatus.BOOKED)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("booking")
        verbose_name_plural = _("bookings")
        ordering = ["day", "created_at", "pk"]
        indexes = [models.Index(fields=["resource", "day", "status"], name="booking_resource_day_idx")]

    def __str__(self):
        return f"{self.case} {self.resource.code} {self.day} ×{self.units}"


class IntlUsage(models.Model):
    """Units booked for international patients on a resource per day or per month: the row to lock."""

    DAY = "day"
    MONTH = "month"

    resource = models.ForeignKey(Resource, on_delete=models.CASCADE, related_name="intl_usage")
    period = models.CharField(max_length=5, choices=[(DAY, DAY), (MONTH, MONTH)], default=DAY)
    day = models.DateField()
    booked_units = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["resource", "period", "day"], name="intl_usage_unique"),
            models.CheckConstraint(name="intl_usage_not_negative", condition=Q(booked_units__gte=0)),
        ]

    def __str__(self):
        return f"{self.resource.code} {self.period} {self.day}: {self.booked_units}"


class WaitlistStatus(models.TextChoices):
    WAITING = "waiting", _("Waiting")
    BOOKED = "booked", _("Booked")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class WaitlistEntry(models.Model):
    """A case waiting for a service on a full day: the first to be given a place that frees up."""

    hospital = models.ForeignKey("hospitals.Hospital", on_delete=models.CASCADE, related_name="+")
    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="waitlist", verbose_name=_("case"))
    item = models.ForeignKey(
        "catalog.CatalogItem", on_delete=models.CASCADE, related_name="+", verbose_name=_("service")
    )
    day = models.DateField(_("first day wanted"))
    status = models.CharField(
        _("status"), max_length=12, choices=WaitlistStatus.choices, default=WaitlistStatus.WAITING
    )
    request = models.ForeignKey(BookingRequest, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("waitlist entry")
        verbose_name_plural = _("waitlist entries")
        ordering = ["created_at", "pk"]
        indexes = [models.Index(fields=["hospital", "status", "day"], name="waitlist_open_idx")]

    def __str__(self):
        return f"{self.case} {self.item.code} {self.day} ({self.status})"


class ReportedMetrics(models.Model):
    """The units (metrics) on which a hospital reports its hospital-wide international share: beds,
    outpatient visits, procedures... Without a row, every unit of the hospital's active resources."""

    hospital = models.OneToOneField(
        "hospitals.Hospital",
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="capacity_metrics",
        verbose_name=_("hospital"),
    )
    units = models.JSONField(_("reported metrics"), default=list, help_text=_("Unit codes, e.g. bed_day, visit."))
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("reported metrics")
        verbose_name_plural = _("reported metrics")

    def __str__(self):
        return f"{self.hospital_id}: {', '.join(self.units)}"

"""Trip plans: the clinical-order defaults of catalog services, and the itineraries planned for cases.

An itinerary follows the FHIR CarePlan status codes: draft (planned, nothing booked), active
(confirmed: every service booked) and revoked (replaced by a later plan or cancelled)."""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _


class Repeat(models.TextChoices):
    """How a service asked for more than once (a quote line's quantity) is planned."""

    SEPARATE = "separate_days", _("on separate days, one after another")
    CONSECUTIVE = "consecutive_days", _("on consecutive days")
    TOGETHER = "one_visit", _("all in one visit")


class ServiceRule(models.Model):
    """How a catalog service is planned by default: time of day, length and days at the hospital."""

    item = models.OneToOneField(
        "catalog.CatalogItem", on_delete=models.CASCADE, related_name="planning_rule", verbose_name=_("service")
    )
    morning_only = models.BooleanField(
        _("morning only (fasting)"), default=False, help_text=_("Fasting tests and others that start before noon.")
    )
    duration_minutes = models.PositiveIntegerField(
        _("duration (minutes)"), null=True, blank=True, help_text=_("Empty: the catalog's duration, else 30.")
    )
    stay_days = models.PositiveIntegerField(
        _("days at the hospital"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(90)],
        help_text=_("Inpatient days from the day it starts. Empty: the catalog's length of stay, else 1."),
    )
    repeat = models.CharField(
        _("more than one"),
        max_length=20,
        choices=Repeat.choices,
        blank=True,
        help_text=_(
            "How a quantity above 1 is planned. Empty: by the kind of service (inpatient days on consecutive "
            "days, laboratory tests and packages in one visit, others on separate days)."
        ),
    )

    class Meta:
        verbose_name = _("planning rule")
        verbose_name_plural = _("planning rules")

    def __str__(self):
        return f"{self.item.code}"


class ServiceOrder(models.Model):
    """A clinical order between two services of a hospital: `after` starts min to max days after `before`."""

    before = models.ForeignKey(
        "catalog.CatalogItem", on_delete=models.CASCADE, related_name="orders_out", verbose_name=_("first")
    )
    after = models.ForeignKey(
        "catalog.CatalogItem", on_delete=models.CASCADE, related_name="orders_in", verbose_name=_("then")
    )
    min_gap_days = models.PositiveIntegerField(_("at least (days)"), default=0)
    max_gap_days = models.PositiveIntegerField(_("at most (days)"), null=True, blank=True)
    note = models.CharField(_("why"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("clinical order")
        verbose_name_plural = _("clinical orders")
        ordering = ["before", "after"]
        constraints = [
            models.UniqueConstraint(fields=["before", "after"], name="service_order_unique"),
            models.CheckConstraint(name="service_order_not_self", condition=~Q(before=F("after"))),
            models.CheckConstraint(
                name="service_order_gaps",
                condition=Q(max_gap_days__isnull=True) | Q(max_gap_days__gte=F("min_gap_days")),
            ),
        ]

    def __str__(self):
        return f"{self.before.code} → {self.after.code} ({self.min_gap_days}-{self.max_gap_days or ''})"


class ItineraryStatus(models.TextChoices):
    DRAFT = "draft", _("Planned")
    ACTIVE = "active", _("Confirmed")
    REVOKED = "revoked", _("Replaced")


class Itinerary(models.Model):
    """A day-by-day trip for a case: the inputs it was planned from, the plan and how it compares."""

    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="itineraries", verbose_name=_("case"))
    status = models.CharField(
        _("status"), max_length=10, choices=ItineraryStatus.choices, default=ItineraryStatus.DRAFT
    )
    feasible = models.BooleanField(_("a plan fits"), default=True)
    method = models.CharField(_("planned by"), max_length=10, blank=True)  # cpsat, greedy
    METHOD_LABELS = {
        "cpsat": _("the optimising planner (CP-SAT)"),
        "greedy": _("earliest free days (the optimising planner found no plan in time)"),
    }
    # Inputs (so that a re-plan starts from them, and the coordinator's adjustments are kept).
    earliest_arrival = models.DateField(_("earliest arrival"))
    latest_departure = models.DateField(_("latest departure"), null=True, blank=True)
    route = models.CharField(_("entry route"), max_length=40, blank=True)
    route_name = models.CharField(_("entry route name"), max_length=200, blank=True)
    stay_limit = models.PositiveIntegerField(_("longest stay (days)"), null=True, blank=True)
    visits_per_day = models.PositiveIntegerField(_("visits a day at most"), default=2)
    rest_weekdays = models.JSONField(_("rest weekdays"), default=list, blank=True)
    rest_days = models.JSONField(_("rest days"), default=list, blank=True)
    orders = models.JSONField(_("clinical orders"), default=list, blank=True)
    # The plan.
    arrival = models.DateField(_("arrival"), null=True, blank=True)
    departure = models.DateField(_("departure"), null=True, blank=True)
    stay_days = models.PositiveIntegerField(_("days in China"), null=True, blank=True)
    hospital_days = models.PositiveIntegerField(_("days at the hospital"), null=True, blank=True)
    waiting_days = models.PositiveIntegerField(_("days of waiting"), null=True, blank=True)
    greedy_departure = models.DateField(_("departure, earliest-slot plan"), null=True, blank=True)
    greedy_stay_days = models.PositiveIntegerField(_("days in China, earliest-slot plan"), null=True, blank=True)
    bound_days = models.PositiveIntegerField(_("shortest stay the clinical order allows"), null=True, blank=True)
    reasons = models.JSONField(_("why no plan fits"), default=list, blank=True)
    nearest = models.JSONField(_("nearest plan"), default=dict, blank=True)
    note = models.CharField(_("note"), max_length=300, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("planned"), auto_now_add=True)
    confirmed_at = models.DateTimeField(_("confirmed"), null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("itinerary")
        verbose_name_plural = _("itineraries")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["case", "status"], name="itinerary_case_status_idx")]

    def __str__(self):
        return f"{self.case} {self.arrival}–{self.departure} ({self.status})"

    @property
    def method_label(self) -> str:
        return str(self.METHOD_LABELS.get(self.method, self.method))


class ItemKind(models.TextChoices):
    ARRIVAL = "arrival", _("Arrival")
    VISIT = "visit", _("Visit")
    STAY = "stay", _("In hospital")
    DEPARTURE = "departure", _("Departure")


class InterpreterMode(models.TextChoices):
    IN_PERSON = "in_person", _("In person")
    NONE = "none", _("No interpreter free")
    VIDEO = "video", _("Remote, by video")
    PHONE = "phone", _("Remote, by phone")


class ItineraryItem(models.Model):
    """One entry of a day of the itinerary: the arrival, a visit with its times, a day in hospital, the departure."""

    itinerary = models.ForeignKey(Itinerary, on_delete=models.CASCADE, related_name="items")
    day = models.DateField(_("day"))
    kind = models.CharField(_("kind"), max_length=10, choices=ItemKind.choices)
    item = models.ForeignKey(
        "catalog.CatalogItem",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("service"),
    )
    starts_at = models.TimeField(_("from"), null=True, blank=True)
    ends_at = models.TimeField(_("until"), null=True, blank=True)
    resource = models.ForeignKey(
        "capacity.Resource",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("resource"),
    )
    warning = models.CharField(max_length=20, blank=True)
    booking_request = models.ForeignKey(
        "capacity.BookingRequest", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Interpreters: a visit of a patient whose language is not Chinese needs one of `interpreter_language`;
    # `interpreter` is the pool's interpreter in person, else the mode: none free yet, or remote.
    interpreter = models.ForeignKey(
        "interpreters.Interpreter",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="itinerary_items",
        verbose_name=_("interpreter"),
    )
    interpreter_language = models.CharField(_("interpreter's language"), max_length=16, blank=True)
    interpreter_mode = models.CharField(_("interpretation"), max_length=10, choices=InterpreterMode.choices, blank=True)

    class Meta:
        verbose_name = _("itinerary entry")
        verbose_name_plural = _("itinerary entries")
        ordering = ["day", "starts_at", "pk"]

    def __str__(self):
        return f"{self.day} {self.kind} {self.item.code if self.item else ''}"

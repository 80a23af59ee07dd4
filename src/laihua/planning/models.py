"""Trip plans: the clinical-order defaults of catalog services, and the itineraries planned for cases.

An itinerary follows the FHIR CarePlan status codes: draft (planned, nothing booked), active
(confirmed: every service booked) and revoked (replaced by a later plan or cancelled)."""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from laihua.kit.i18n import TranslatedField


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


class ProcedureKind(models.TextChoices):
    """The kind of procedure a pathway leads to, for its fit-to-fly rule (docs/pathways.md cites the figures)."""

    DIAGNOSTIC = "diagnostic", _("Tests and scans only")
    ENDOSCOPY = "endoscopy", _("Endoscopy (gastroscopy, colonoscopy)")
    LAPAROSCOPIC = "laparoscopic", _("Laparoscopic (keyhole) surgery")
    PLASTER_CAST = "plaster_cast", _("Plaster cast")
    ANGIOPLASTY = "angioplasty", _("Angioplasty or stenting")
    ABDOMINAL = "abdominal_surgery", _("Open abdominal surgery")
    JOINT_REPLACEMENT = "joint_replacement", _("Major orthopaedic surgery (joint replacement)")
    CHEST = "chest_surgery", _("Chest or heart surgery")


# The fewest days after the procedure before a flight, by kind (UK CAA "Assessing fitness to fly": 24 hours
# after laparoscopy or colonoscopy, 24 to 48 hours after a plaster cast, 5 days after angioplasty, 10 days
# after abdominal surgery, 10 days after chest surgery or CABG, 10 days after joint replacement).
FIT_TO_FLY_DAYS = {
    ProcedureKind.DIAGNOSTIC: 0,
    ProcedureKind.ENDOSCOPY: 1,
    ProcedureKind.LAPAROSCOPIC: 1,
    ProcedureKind.PLASTER_CAST: 2,
    ProcedureKind.ANGIOPLASTY: 5,
    ProcedureKind.ABDOMINAL: 10,
    ProcedureKind.JOINT_REPLACEMENT: 10,
    ProcedureKind.CHEST: 10,
}


class Pathway(models.Model):
    """The clinical pathway of a catalog package or service, kept by its hospital's staff: the ordered steps
    from the first consultation to the last check, the inpatient nights the quote includes and the fewest
    days after the procedure before the patient may fly home."""

    item = models.OneToOneField(
        "catalog.CatalogItem", on_delete=models.CASCADE, related_name="pathway", verbose_name=_("package or service")
    )
    procedure_kind = models.CharField(
        _("kind of procedure"), max_length=20, choices=ProcedureKind.choices, default=ProcedureKind.DIAGNOSTIC
    )
    fit_to_fly_days = models.PositiveIntegerField(
        _("fit to fly (days after the procedure)"),
        null=True,
        blank=True,
        validators=[MaxValueValidator(90)],
        help_text=_("Empty: the default for the kind of procedure."),
    )
    nights = models.PositiveIntegerField(
        _("inpatient nights included"),
        default=0,
        validators=[MaxValueValidator(90)],
        help_text=_("As the quote includes them; more only as a priced inpatient-day line on the quote."),
    )
    note = TranslatedField(_("note"), blank=True)
    source = models.CharField(_("source"), max_length=300, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("clinical pathway")
        verbose_name_plural = _("clinical pathways")
        ordering = ["item__code"]

    def __str__(self):
        return f"{self.item.code}"

    @property
    def fly_after_days(self) -> int:
        if self.fit_to_fly_days is not None:
            return self.fit_to_fly_days
        return FIT_TO_FLY_DAYS.get(self.procedure_kind, 0)


class StepKind(models.TextChoices):
    WORKUP = "workup", _("Pre-admission work-up")
    TEST = "test", _("Test or scan")
    PROCEDURE = "procedure", _("Procedure")
    POSTOP = "postop_check", _("Post-operative check")
    REVIEW = "results_review", _("Results review")


class PathwayStep(models.Model):
    """One step of a pathway: a catalog service of the hospital, after the steps of the stage before it
    (at least `min_gap_days`, at most `max_gap_days` days later, and not before their reports are ready).
    A step `with_previous` shares the stage of the step before it (the bloods, ECG and chest X-ray together)."""

    pathway = models.ForeignKey(Pathway, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveIntegerField(_("position"))
    kind = models.CharField(_("kind of step"), max_length=20, choices=StepKind.choices)
    service = models.ForeignKey(
        "catalog.CatalogItem", on_delete=models.PROTECT, related_name="pathway_steps", verbose_name=_("service")
    )
    label = TranslatedField(_("label"))
    with_previous = models.BooleanField(_("with the step before"), default=False)
    min_gap_days = models.PositiveIntegerField(_("at least (days after the stage before)"), default=0)
    max_gap_days = models.PositiveIntegerField(_("at most (days)"), null=True, blank=True)
    turnaround_days = models.PositiveIntegerField(
        _("report turnaround (working days)"), default=0, validators=[MaxValueValidator(30)]
    )
    theatre_minutes = models.PositiveIntegerField(_("theatre time (minutes)"), null=True, blank=True)

    class Meta:
        verbose_name = _("pathway step")
        verbose_name_plural = _("pathway steps")
        ordering = ["pathway", "position"]
        constraints = [
            models.UniqueConstraint(fields=["pathway", "position"], name="pathway_step_position_unique"),
            models.UniqueConstraint(fields=["pathway", "service"], name="pathway_step_service_unique"),
            models.CheckConstraint(
                name="pathway_step_gaps",
                condition=Q(max_gap_days__isnull=True) | Q(max_gap_days__gte=F("min_gap_days")),
            ),
        ]

    def __str__(self):
        return f"{self.pathway} #{self.position} {self.service.code}"


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
    pathways = models.JSONField(_("clinical pathways"), default=list, blank=True)  # the codes planned along one
    nights = models.PositiveIntegerField(_("inpatient nights"), null=True, blank=True)  # as the quote includes
    fit_to_fly = models.DateField(_("fit to fly from"), null=True, blank=True)
    day_reasons = models.JSONField(_("why each day"), default=dict, blank=True)  # ISO day -> [{code, params}]
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
    step = models.CharField(_("pathway step"), max_length=20, blank=True)  # StepKind, when planned along a pathway
    nights = models.PositiveIntegerField(_("inpatient nights"), null=True, blank=True)  # a procedure's bed nights
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

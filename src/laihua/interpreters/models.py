"""Each hospital's pool of interpreters: its own staff or an agency's, the languages they interpret (ISO 639
codes), their medical interpreting level, working hours and weekdays, and the days they are away. An
interpreter may have an account (role interpreter) to read their own day's schedule."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _


class Employment(models.TextChoices):
    STAFF = "staff", _("Hospital staff")
    AGENCY = "agency", _("Agency")


class Level(models.TextChoices):
    CERTIFIED = "certified_medical", _("Certified medical interpreter")
    EXPERIENCED = "experienced", _("Experienced in medical settings")
    GENERAL = "general", _("General interpreter")


# The planner prefers the higher level when several interpreters are free.
LEVEL_RANK = {Level.CERTIFIED: 2, Level.EXPERIENCED: 1, Level.GENERAL: 0}


def default_weekdays():
    return [1, 2, 3, 4, 5]


class Interpreter(models.Model):
    hospital = models.ForeignKey(
        "hospitals.Hospital", on_delete=models.CASCADE, related_name="interpreters", verbose_name=_("hospital")
    )
    name = models.CharField(_("name"), max_length=120)
    employment = models.CharField(_("employed by"), max_length=10, choices=Employment.choices, default=Employment.STAFF)
    agency = models.CharField(_("agency"), max_length=120, blank=True)
    languages = models.JSONField(_("languages"), default=list, help_text=_("ISO 639 codes, e.g. en ru ar."))
    level = models.CharField(
        _("medical interpreting level"), max_length=20, choices=Level.choices, default=Level.GENERAL
    )
    works_from = models.TimeField(_("works from"), default="08:00")
    works_until = models.TimeField(_("works until"), default="17:00")
    # ISO weekday numbers: 1 = Monday … 7 = Sunday.
    weekdays = models.JSONField(_("working weekdays"), default=default_weekdays)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="interpreter",
        verbose_name=_("account"),
    )
    active = models.BooleanField(_("in the pool"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("interpreter")
        verbose_name_plural = _("interpreters")
        ordering = ["name", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["hospital", "name"], name="interpreter_name_unique_per_hospital"),
            models.CheckConstraint(name="interpreter_hours_in_order", condition=Q(works_until__gt=F("works_from"))),
            models.CheckConstraint(
                name="interpreter_agency_named",
                condition=~Q(employment="agency") | ~Q(agency=""),
            ),
        ]

    def __str__(self):
        return self.name

    @property
    def rank(self) -> int:
        return LEVEL_RANK.get(self.level, 0)


class Absence(models.Model):
    """Days an interpreter is away (leave, training, illness), both days included."""

    interpreter = models.ForeignKey(
        Interpreter, on_delete=models.CASCADE, related_name="absences", verbose_name=_("interpreter")
    )
    starts_on = models.DateField(_("from"))
    ends_on = models.DateField(_("until"))
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("day away")
        verbose_name_plural = _("days away")
        ordering = ["starts_on", "pk"]
        constraints = [
            models.CheckConstraint(name="absence_dates_in_order", condition=Q(ends_on__gte=F("starts_on"))),
        ]

    def __str__(self):
        return f"{self.interpreter}: {self.starts_on}–{self.ends_on}"

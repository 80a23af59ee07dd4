from django.db import models
from django.utils.translation import gettext_lazy as _

from laihua.kit.i18n import TranslatedField, pick


class City(models.Model):
    slug = models.SlugField(_("slug"), unique=True)
    name = TranslatedField(_("name"))

    class Meta:
        verbose_name = _("city")
        verbose_name_plural = _("cities")
        ordering = ["slug"]

    def __str__(self):
        return pick(self.name)


class Hospital(models.Model):
    """A hospital with an international medical department."""

    slug = models.SlugField(_("slug"), unique=True, help_text=_("Used in URLs and price file names."))
    name = TranslatedField(_("name"))
    city = models.ForeignKey(City, on_delete=models.PROTECT, related_name="hospitals", verbose_name=_("city"))
    address = TranslatedField(_("address"))
    description = TranslatedField(_("description"), textarea=True, blank=True)
    website = models.URLField(_("website"), blank=True)
    accreditations = models.JSONField(_("accreditations"), default=list, blank=True, help_text=_("e.g. JCI"))
    languages = models.JSONField(
        _("languages spoken"), default=list, blank=True, help_text=_("Language codes, e.g. en, zh, ru.")
    )
    intl_department = TranslatedField(_("international department"), blank=True)
    intl_phone = models.CharField(_("international department phone"), max_length=40, blank=True)
    intl_email = models.EmailField(_("international department e-mail"), blank=True)
    intl_hours = TranslatedField(_("international department hours"), blank=True)
    is_demo = models.BooleanField(_("demo data"), default=False)
    pilot = models.BooleanField(
        _("city pilot hospital"), default=False, help_text=_("Named by the city as a pilot for international care.")
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("hospital")
        verbose_name_plural = _("hospitals")
        ordering = ["slug"]

    def __str__(self):
        return pick(self.name)


class Department(models.Model):
    hospital = models.ForeignKey(
        Hospital, on_delete=models.CASCADE, related_name="departments", verbose_name=_("hospital")
    )
    code = models.SlugField(_("code"), max_length=40)
    name = TranslatedField(_("name"))

    class Meta:
        verbose_name = _("department")
        verbose_name_plural = _("departments")
        ordering = ["hospital", "code"]
        constraints = [models.UniqueConstraint(fields=["hospital", "code"], name="department_code_unique")]

    def __str__(self):
        return pick(self.name)

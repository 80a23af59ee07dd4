"""A foreign patient's profile: identity as in the passport, contacts, and who travels with them."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django_countries.fields import CountryField

from laihua.kit.crypto import EncryptedCharField, mask


class Sex(models.TextChoices):
    FEMALE = "F", _("Female")
    MALE = "M", _("Male")
    OTHER = "X", _("Unspecified (X)")


class Patient(models.Model):
    """One patient account's profile; the passport number is encrypted at rest and shown masked."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="patient", verbose_name=_("account")
    )
    family_name = models.CharField(_("family name (as in passport)"), max_length=100)
    # Empty for someone whose passport shows a single name.
    given_names = models.CharField(_("given names (as in passport)"), max_length=150, blank=True)
    sex = models.CharField(_("sex"), max_length=1, choices=Sex.choices)
    date_of_birth = models.DateField(_("date of birth"))
    nationality = CountryField(_("nationality"))
    passport_number = EncryptedCharField(_("passport number"), plain_max_length=20)
    passport_expiry = models.DateField(_("passport expiry"), null=True, blank=True)
    languages = models.JSONField(_("languages"), default=list, blank=True, help_text=_("Language codes, e.g. en, ru."))
    preferred_currency = models.CharField(_("preferred currency"), max_length=3, default="USD")
    email = models.EmailField(_("e-mail"))
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    address = models.TextField(_("home address"), blank=True)
    emergency_name = models.CharField(_("emergency contact"), max_length=150, blank=True)
    emergency_relation = models.CharField(_("relation to patient"), max_length=60, blank=True)
    emergency_phone = models.CharField(_("emergency contact phone"), max_length=40, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("patient")
        verbose_name_plural = _("patients")
        ordering = ["family_name", "given_names"]

    def __str__(self):
        return self.full_name

    @property
    def full_name(self) -> str:
        return f"{self.family_name.upper()} {self.given_names}".strip()

    @property
    def passport_masked(self) -> str:
        return mask(self.passport_number)


class Companion(models.Model):
    """Someone travelling with the patient (relative, carer); may need their own invitation."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="companions", verbose_name=_("patient"))
    family_name = models.CharField(_("family name (as in passport)"), max_length=100)
    # Empty for someone whose passport shows a single name.
    given_names = models.CharField(_("given names (as in passport)"), max_length=150, blank=True)
    relation = models.CharField(_("relation to patient"), max_length=60)
    sex = models.CharField(_("sex"), max_length=1, choices=Sex.choices)
    date_of_birth = models.DateField(_("date of birth"))
    nationality = CountryField(_("nationality"))
    passport_number = EncryptedCharField(_("passport number"), plain_max_length=20)

    class Meta:
        verbose_name = _("companion")
        verbose_name_plural = _("companions")
        ordering = ["pk"]

    def __str__(self):
        return self.full_name

    @property
    def full_name(self) -> str:
        return f"{self.family_name.upper()} {self.given_names}".strip()

    @property
    def passport_masked(self) -> str:
        return mask(self.passport_number)

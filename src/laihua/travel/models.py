"""Entry rules as dated, sourced data, and the hospitals' invitation letters for visa applications.

Entry rules change by announcement (a country added on trial, a policy extended a year): each
country's place on a scheme carries the dates it holds and the source that says so, so that the
guidance never promises an entry route for a date the source does not cover.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django_countries.fields import CountryField

from laihua.kit.crypto import EncryptedBinaryField, EncryptedJSONField
from laihua.kit.i18n import TranslatedField, pick


class EntryScheme(models.Model):
    """A way into mainland China: a visa-free scheme for listed nationalities, or the visa itself."""

    code = models.SlugField(_("code"), max_length=40, unique=True, help_text=_("e.g. visa_free_30, transit_240h."))
    name = TranslatedField(_("name"))
    notes = TranslatedField(_("notes"), textarea=True, blank=True)
    conditions = TranslatedField(
        _("conditions"),
        textarea=True,
        blank=True,
        help_text=_("What a traveller must meet: ports, onward ticket, where they may stay, listed purposes."),
    )
    max_stay_days = models.PositiveSmallIntegerField(
        _("longest stay (days)"),
        null=True,
        blank=True,
        help_text=_("Counted from midnight after the day of entry. Empty: no fixed limit."),
    )
    medical_purpose = models.BooleanField(
        _("medical treatment is a listed purpose"),
        default=False,
        help_text=_("Ticked only when the scheme's source names medical treatment among its purposes."),
    )
    onward_ticket_required = models.BooleanField(
        _("needs an onward ticket to a third country"),
        default=False,
    )
    only_in_cities = models.JSONField(
        _("only for hospitals in these cities"),
        default=list,
        blank=True,
        help_text=_("City slugs (e.g. haikou, sanya) where the stay this scheme allows may be spent. Empty: anywhere."),
    )
    all_nationalities = models.BooleanField(
        _("open to every nationality"),
        default=False,
        help_text=_("The visa route: offered to everyone, always listed last as the fallback."),
    )
    order = models.PositiveSmallIntegerField(_("order"), default=100, help_text=_("Smaller first, among equals."))
    active = models.BooleanField(_("in use"), default=True)
    source_title = models.CharField(_("source"), max_length=300, blank=True)
    source_url = models.URLField(_("source address"), max_length=500, blank=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("entry scheme")
        verbose_name_plural = _("entry schemes")
        ordering = ["order", "code"]

    def __str__(self):
        return pick(self.name) or self.code


class SchemeCountry(models.Model):
    """A nationality listed on a scheme from one date (until another, or until further notice)."""

    scheme = models.ForeignKey(
        EntryScheme, on_delete=models.CASCADE, related_name="countries", verbose_name=_("scheme")
    )
    country = CountryField(_("country"))
    valid_from = models.DateField(_("valid from"), help_text=_("First arrival date the source covers."))
    valid_until = models.DateField(
        _("valid until"), null=True, blank=True, help_text=_("Last arrival date; empty: until further notice.")
    )
    source_title = models.CharField(_("source"), max_length=300)
    source_url = models.URLField(_("source address"), max_length=500, blank=True)
    note = TranslatedField(_("note"), textarea=True, blank=True, help_text=_("e.g. on trial until 14 September 2026."))
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("country on an entry scheme")
        verbose_name_plural = _("countries on entry schemes")
        ordering = ["scheme__order", "scheme__code", "country", "valid_from"]
        constraints = [
            models.UniqueConstraint(fields=["scheme", "country", "valid_from"], name="scheme_country_unique"),
            models.CheckConstraint(
                name="scheme_country_dates_in_order",
                condition=models.Q(valid_until__isnull=True) | models.Q(valid_until__gte=models.F("valid_from")),
            ),
        ]
        indexes = [models.Index(fields=["country", "valid_from"], name="scheme_country_lookup")]

    def __str__(self):
        until = self.valid_until.isoformat() if self.valid_until else "…"
        return f"{self.scheme.code} {self.country.code} {self.valid_from.isoformat()}–{until}"

    def covers(self, day) -> bool:
        return self.valid_from <= day and (self.valid_until is None or day <= self.valid_until)


def stamp_path(instance, filename):
    return f"travel/stamps/{instance.hospital_id}/{filename.rsplit('/', 1)[-1][-60:]}"


class LetterSettings(models.Model):
    """Who signs a hospital's invitation letters, its stamp and its letter numbers."""

    hospital = models.OneToOneField(
        "hospitals.Hospital", on_delete=models.CASCADE, related_name="letter_settings", verbose_name=_("hospital")
    )
    signatory_name = TranslatedField(_("signatory's name"), blank=True)
    signatory_title = TranslatedField(_("signatory's title"), blank=True)
    stamp = models.ImageField(
        _("stamp image"),
        upload_to=stamp_path,
        blank=True,
        help_text=_("A PNG or JPEG of the hospital's stamp, printed beside the signature. Optional."),
    )
    reference_prefix = models.CharField(
        _("letter number prefix"),
        max_length=20,
        blank=True,
        help_text=_("Letters are numbered PREFIX-YEAR-0001; empty: the hospital's slug in capitals."),
    )
    phone = models.CharField(
        _("phone on the letter"), max_length=40, blank=True, help_text=_("Empty: the international department's.")
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("invitation letter settings")
        verbose_name_plural = _("invitation letter settings")

    def __str__(self):
        return str(self.hospital)

    @property
    def prefix(self) -> str:
        return (self.reference_prefix or self.hospital.slug).upper()

    @property
    def has_signatory(self) -> bool:
        return bool(pick(self.signatory_name) and pick(self.signatory_title))


class Payer(models.TextChoices):
    SELF = "self", _("The patient")
    INSURER = "insurer", _("An insurer")
    OTHER = "other", _("Someone else")


class InvitationLetter(models.Model):
    """One issued letter: every field as it was printed, and the PDF itself, never rewritten.

    Issuing again makes a new letter and revokes the earlier ones, which stay in the history.
    """

    case = models.ForeignKey(
        "cases.Case", on_delete=models.PROTECT, related_name="invitation_letters", verbose_name=_("case")
    )
    hospital = models.ForeignKey(
        "hospitals.Hospital", on_delete=models.PROTECT, related_name="invitation_letters", verbose_name=_("hospital")
    )
    number = models.CharField(_("letter number"), max_length=40)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("issued by")
    )
    issued_at = models.DateTimeField(_("issued"), db_index=True)
    language = models.CharField(_("second language"), max_length=16, default="en")
    # Both print the passport numbers of the patient and the companions: stored encrypted (kit/crypto.py).
    snapshot = EncryptedJSONField(_("fields as printed"), default=dict)
    pdf = EncryptedBinaryField(_("PDF"), editable=False)
    pdf_sha256 = models.CharField(max_length=64, editable=False)
    revoked = models.BooleanField(_("revoked"), default=False)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    revoke_reason = models.CharField(_("why revoked"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("invitation letter")
        verbose_name_plural = _("invitation letters")
        ordering = ["-issued_at", "-pk"]
        constraints = [models.UniqueConstraint(fields=["hospital", "number"], name="invitation_letter_number_unique")]

    def __str__(self):
        return self.number

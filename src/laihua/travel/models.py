"""Entry rules as dated, sourced data, and the hospitals' invitation letters for visa applications.

Entry rules change by announcement (a country added on trial, a policy extended a year): each
country's place on a scheme carries the dates it holds and the source that says so, so that the
guidance never promises an entry route for a date the source does not cover.
"""

from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import models
from django.db.models import F
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


# The patient's days in China: flights, the airport pickup, accommodation and companions.


class AccommodationKind(models.TextChoices):
    HOTEL = "hotel", _("Hotel")
    APARTMENT = "serviced_apartment", _("Serviced apartment")


class Accommodation(models.Model):
    """A partner hotel or serviced apartment near a hospital, kept by the hospital's desk."""

    hospital = models.ForeignKey(
        "hospitals.Hospital", on_delete=models.CASCADE, related_name="accommodations", verbose_name=_("hospital")
    )
    kind = models.CharField(_("kind"), max_length=20, choices=AccommodationKind.choices)
    name = TranslatedField(_("name"))
    address = TranslatedField(_("address"))
    distance_m = models.PositiveIntegerField(_("distance to the hospital (metres)"))
    nightly_price_cny = models.DecimalField(_("price a night (CNY)"), max_digits=10, decimal_places=2)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    note = TranslatedField(
        _("note"), blank=True, help_text=_("e.g. step-free rooms, kitchen, shuttle to the hospital.")
    )
    active = models.BooleanField(_("offered"), default=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("accommodation")
        verbose_name_plural = _("accommodations")
        ordering = ["hospital", "distance_m", "pk"]
        constraints = [
            models.CheckConstraint(
                name="accommodation_price_not_negative", condition=models.Q(nightly_price_cny__gte=0)
            )
        ]

    def __str__(self):
        return pick(self.name)


class PickupStatus(models.TextChoices):
    NONE = "none", _("Not asked for")
    REQUESTED = "requested", _("Requested")
    CONFIRMED = "confirmed", _("Confirmed")
    CANCELLED = "cancelled", _("Cancelled")


class Stay(models.Model):
    """One case's stay: the entry route and any extension, the airport pickup, who stays with the patient."""

    case = models.OneToOneField("cases.Case", on_delete=models.CASCADE, related_name="stay", verbose_name=_("case"))
    entry_route = models.CharField(
        _("entry route"), max_length=40, blank=True, help_text=_("Empty: the best route for the trip's dates.")
    )
    visa_stay_days = models.PositiveSmallIntegerField(
        _("stay the visa allows (days)"), null=True, blank=True, help_text=_("“Duration of each stay” on the visa.")
    )
    extended_until = models.DateField(
        _("stay extended until"), null=True, blank=True, help_text=_("Granted by the exit-entry administration.")
    )
    pickup_status = models.CharField(
        _("airport pickup"), max_length=12, choices=PickupStatus.choices, default=PickupStatus.NONE
    )
    pickup_note = models.CharField(
        _("pickup details"), max_length=300, blank=True, help_text=_("Driver, phone, where to meet.")
    )
    companions = models.ManyToManyField(
        "patients.Companion", blank=True, related_name="+", verbose_name=_("companions staying")
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("stay")
        verbose_name_plural = _("stays")

    def __str__(self):
        return str(self.case)


class FlightDirection(models.TextChoices):
    IN = "in", _("Flight in")
    OUT = "out", _("Flight out")


class Flight(models.Model):
    """One flight of the trip; times are instants, shown in each airport's own time zone."""

    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="flights", verbose_name=_("case"))
    direction = models.CharField(_("direction"), max_length=3, choices=FlightDirection.choices)
    number = models.CharField(_("flight number"), max_length=8)
    from_airport = models.CharField(_("from (airport code)"), max_length=3)
    to_airport = models.CharField(_("to (airport code)"), max_length=3)
    departs_at = models.DateTimeField(_("departs"))
    departs_tz = models.CharField(_("departure time zone"), max_length=64)
    arrives_at = models.DateTimeField(_("arrives"))
    arrives_tz = models.CharField(_("arrival time zone"), max_length=64)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("flight")
        verbose_name_plural = _("flights")
        ordering = ["departs_at", "pk"]
        constraints = [
            models.CheckConstraint(
                name="flight_arrives_after_departure", condition=models.Q(arrives_at__gt=F("departs_at"))
            )
        ]

    def __str__(self):
        return f"{self.number} {self.from_airport}-{self.to_airport}"

    @property
    def departs_local(self):
        return self.departs_at.astimezone(ZoneInfo(self.departs_tz))

    @property
    def arrives_local(self):
        return self.arrives_at.astimezone(ZoneInfo(self.arrives_tz))

    # As read on the airport's clock, without a time zone: templates show these as they are (an aware
    # datetime would be turned into the site's time zone by Django's date and time filters).
    @property
    def departs_clock(self):
        return self.departs_local.replace(tzinfo=None)

    @property
    def arrives_clock(self):
        return self.arrives_local.replace(tzinfo=None)


class BookingStatus(models.TextChoices):
    REQUESTED = "requested", _("Requested")
    CONFIRMED = "confirmed", _("Confirmed")
    CANCELLED = "cancelled", _("Cancelled")


class AccommodationBooking(models.Model):
    """A booking request for a partner accommodation, with its status; the night's price as quoted then."""

    case = models.ForeignKey(
        "cases.Case", on_delete=models.CASCADE, related_name="accommodation_bookings", verbose_name=_("case")
    )
    accommodation = models.ForeignKey(
        Accommodation, on_delete=models.PROTECT, related_name="bookings", verbose_name=_("accommodation")
    )
    check_in = models.DateField(_("check-in"))
    check_out = models.DateField(_("check-out"))
    guests = models.PositiveSmallIntegerField(_("guests"), default=1)
    status = models.CharField(
        _("status"), max_length=12, choices=BookingStatus.choices, default=BookingStatus.REQUESTED
    )
    nightly_price_cny = models.DecimalField(_("price a night (CNY)"), max_digits=10, decimal_places=2)
    note = models.CharField(_("note"), max_length=300, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("requested"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("accommodation booking")
        verbose_name_plural = _("accommodation bookings")
        ordering = ["check_in", "pk"]
        constraints = [
            models.CheckConstraint(name="accommodation_booking_dates", condition=models.Q(check_out__gt=F("check_in"))),
            models.CheckConstraint(name="accommodation_booking_guests", condition=models.Q(guests__gte=1)),
        ]

    def __str__(self):
        return f"{self.case} {self.accommodation} {self.check_in}–{self.check_out}"

    @property
    def nights(self) -> int:
        return (self.check_out - self.check_in).days

    @property
    def total_cny(self):
        return self.nightly_price_cny * self.nights


class StayExtension(models.Model):
    """How the stay an entry route allows can be extended in China, for a period, with its source."""

    scheme = models.ForeignKey(EntryScheme, on_delete=models.CASCADE, related_name="extensions")
    valid_from = models.DateField(_("valid from"))
    valid_until = models.DateField(_("valid until"), null=True, blank=True)
    how = TranslatedField(_("what to apply for"))
    where = TranslatedField(_("where to apply"))
    apply_days_before = models.PositiveSmallIntegerField(
        _("apply at least this many days before"), null=True, blank=True
    )
    processing_days = models.PositiveSmallIntegerField(_("decision within (working days)"), null=True, blank=True)
    longest = TranslatedField(_("longest extension"), blank=True)
    note = TranslatedField(_("note"), textarea=True, blank=True)
    source_title = models.CharField(_("source"), max_length=300)
    source_url = models.URLField(_("source address"), max_length=500, blank=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("extension of stay")
        verbose_name_plural = _("extensions of stay")
        ordering = ["scheme__order", "valid_from"]
        constraints = [
            models.UniqueConstraint(fields=["scheme", "valid_from"], name="stay_extension_unique"),
            models.CheckConstraint(
                name="stay_extension_dates_in_order",
                condition=models.Q(valid_until__isnull=True) | models.Q(valid_until__gte=F("valid_from")),
            ),
        ]

    def __str__(self):
        return f"{self.scheme.code} {self.valid_from.isoformat()}"

    def covers(self, day) -> bool:
        return self.valid_from <= day and (self.valid_until is None or day <= self.valid_until)


class StayWarning(models.Model):
    """The coordinator was warned that the patient's permitted stay ends soon (one per case and end date)."""

    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="stay_warnings")
    ends_on = models.DateField(_("permitted stay ends"))
    route = models.CharField(_("entry route"), max_length=40)
    created_at = models.DateTimeField(_("warned"), auto_now_add=True)

    class Meta:
        verbose_name = _("stay warning")
        verbose_name_plural = _("stay warnings")
        ordering = ["ends_on", "pk"]
        constraints = [models.UniqueConstraint(fields=["case", "ends_on"], name="stay_warning_once")]

    def __str__(self):
        return f"{self.case} {self.ends_on.isoformat()}"

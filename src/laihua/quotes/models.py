"""Quotes: what a hospital proposes to a patient for a case, line by line, in CNY and in the patient's
currency at a dated rate. Each quote of a case is one revision; sending a revision supersedes the one
the patient had, which keeps its history. Once sent a quote is frozen; the rules live in services.py."""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from laihua.kit.i18n import TranslatedField, pick


class Status(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SENT = "sent", _("Sent")
    ACCEPTED = "accepted", _("Accepted")
    DECLINED = "declined", _("Declined")
    SUPERSEDED = "superseded", _("Superseded")
    EXPIRED = "expired", _("Expired")


class Quote(models.Model):
    """One revision of a case's quote. Amounts are CNY; the converted ones use the rate frozen at sending."""

    case = models.ForeignKey("cases.Case", on_delete=models.PROTECT, related_name="quotes", verbose_name=_("case"))
    revision = models.PositiveIntegerField(_("revision"))
    number = models.CharField(_("quote number"), max_length=40, unique=True, editable=False)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.DRAFT, db_index=True)
    quote_date = models.DateField(_("priced on"), help_text=_("Catalog prices are those in force on this day."))
    valid_until = models.DateField(_("valid until"), null=True, blank=True)
    deposit_cny = models.DecimalField(_("deposit (CNY)"), max_digits=12, decimal_places=2, default=Decimal("0.00"))
    currency = models.CharField(_("patient's currency"), max_length=3)
    language = models.CharField(_("patient's language"), max_length=16, default="en")
    # The rate frozen when the quote was sent (CNY per unit of `currency`), with its date and source.
    rate_cny_per_unit = models.DecimalField(_("rate (CNY per unit)"), max_digits=18, decimal_places=8, null=True)
    rate_date = models.DateField(_("rate date"), null=True, blank=True)
    rate_source = models.CharField(_("rate source"), max_length=200, blank=True)
    total_cny = models.DecimalField(_("total (CNY)"), max_digits=14, decimal_places=2, default=Decimal("0.00"))
    total_converted = models.DecimalField(_("total (patient's currency)"), max_digits=16, decimal_places=2, null=True)
    deposit_converted = models.DecimalField(
        _("deposit (patient's currency)"), max_digits=16, decimal_places=2, null=True
    )
    notes = TranslatedField(_("notes"), textarea=True, blank=True)
    exclusions = TranslatedField(_("not included"), textarea=True, blank=True)
    previous = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="revisions",
        verbose_name=_("revises"),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("prepared by")
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    accepted_at = models.DateTimeField(_("accepted"), null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    accepted_ip = models.GenericIPAddressField(_("accepted from address"), null=True, blank=True)
    accepted_user_agent = models.CharField(_("accepted with browser"), max_length=300, blank=True)
    declined_at = models.DateTimeField(_("declined"), null=True, blank=True)
    decline_reason = models.TextField(_("reason for declining"), blank=True)
    superseded_at = models.DateTimeField(_("superseded"), null=True, blank=True)
    expired_at = models.DateTimeField(_("expired"), null=True, blank=True)

    class Meta:
        verbose_name = _("quote")
        verbose_name_plural = _("quotes")
        ordering = ["case", "-revision"]
        constraints = [
            models.UniqueConstraint(fields=["case", "revision"], name="quote_revision_unique"),
            # The database itself refuses a second open draft, sent quote or acceptance for one case.
            models.UniqueConstraint(fields=["case"], condition=Q(status="draft"), name="quote_one_draft_per_case"),
            models.UniqueConstraint(fields=["case"], condition=Q(status="sent"), name="quote_one_sent_per_case"),
            models.UniqueConstraint(
                fields=["case"], condition=Q(status="accepted"), name="quote_one_accepted_per_case"
            ),
            models.CheckConstraint(name="quote_deposit_not_negative", condition=Q(deposit_cny__gte=Decimal("0"))),
        ]

    def __str__(self):
        return self.number

    @property
    def is_draft(self) -> bool:
        return self.status == Status.DRAFT

    @property
    def is_open(self) -> bool:
        """Sent and waiting for the patient's answer."""
        return self.status == Status.SENT

    @property
    def is_frozen(self) -> bool:
        return self.status != Status.DRAFT

    @property
    def balance_cny(self) -> Decimal:
        return self.total_cny - self.deposit_cny


class QuoteLine(models.Model):
    """One line: a catalog service or package (its text and price copied at the time) or a manual line
    priced by hand, with an optional discount that always carries its reason."""

    quote = models.ForeignKey(Quote, on_delete=models.CASCADE, related_name="lines", verbose_name=_("quote"))
    position = models.PositiveIntegerField(_("position"))
    item = models.ForeignKey(
        "catalog.CatalogItem",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("catalog item"),
    )
    manual = models.BooleanField(_("priced by hand"), default=False)
    package = models.BooleanField(_("package"), default=False)
    code = models.CharField(_("code"), max_length=40, blank=True)
    description = TranslatedField(_("description"))
    included = TranslatedField(_("included"), textarea=True, blank=True)
    excluded = TranslatedField(_("excluded"), textarea=True, blank=True)
    components = models.JSONField(_("package contents"), default=list, blank=True)
    quantity = models.PositiveIntegerField(_("quantity"), default=1)
    # The catalog price in force on the quote date (a range when min < max), copied for the record.
    catalog_price_min = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    catalog_price_max = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    catalog_price_from = models.DateField(null=True, blank=True)
    unit_price_cny = models.DecimalField(_("unit price (CNY)"), max_digits=12, decimal_places=2)
    discount_percent = models.DecimalField(_("discount (%)"), max_digits=5, decimal_places=2, null=True, blank=True)
    discount_fixed_cny = models.DecimalField(
        _("discount (CNY)"), max_digits=12, decimal_places=2, null=True, blank=True
    )
    discount_reason = models.CharField(_("reason for the discount"), max_length=300, blank=True)
    gross_cny = models.DecimalField(_("before discount (CNY)"), max_digits=14, decimal_places=2)
    discount_cny = models.DecimalField(_("discount (CNY)"), max_digits=14, decimal_places=2, default=Decimal("0"))
    amount_cny = models.DecimalField(_("amount (CNY)"), max_digits=14, decimal_places=2)

    class Meta:
        verbose_name = _("quote line")
        verbose_name_plural = _("quote lines")
        ordering = ["quote", "position", "pk"]
        constraints = [
            models.CheckConstraint(name="quote_line_quantity_positive", condition=Q(quantity__gte=1)),
            models.CheckConstraint(name="quote_line_price_not_negative", condition=Q(unit_price_cny__gte=0)),
            models.CheckConstraint(name="quote_line_amount_not_negative", condition=Q(amount_cny__gte=0)),
            models.CheckConstraint(
                name="quote_line_discount_has_reason", condition=Q(discount_cny=0) | ~Q(discount_reason="")
            ),
        ]

    def __str__(self):
        return f"{self.quote} #{self.position} {pick(self.description)}"

    @property
    def is_range(self) -> bool:
        return self.catalog_price_min is not None and self.catalog_price_min != self.catalog_price_max

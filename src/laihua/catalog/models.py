import datetime
from decimal import Decimal

from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from laihua.kit.i18n import TranslatedField, pick


class Kind(models.TextChoices):
    CONSULTATION = "consultation", _("Consultation")
    IMAGING = "imaging", _("Imaging")
    LABORATORY = "laboratory", _("Laboratory")
    PROCEDURE = "procedure", _("Procedure")
    INPATIENT_DAY = "inpatient_day", _("Inpatient day")
    PACKAGE = "package", _("Package")


class ComparableService(models.Model):
    """A service as patients know it (an MRI scan, a hip replacement), compared across hospitals and countries."""

    key = models.SlugField(_("key"), unique=True)
    name = TranslatedField(_("name"))

    class Meta:
        verbose_name = _("comparable service")
        verbose_name_plural = _("comparable services")
        ordering = ["key"]

    def __str__(self):
        return pick(self.name)


# CatalogItem's copy of the price in force today: written by catalog.pricing only, never by save().
PRICE_COPY_FIELDS = ["current_price_min", "current_price_max", "current_price_from", "current_price_until"]


class CatalogItem(models.Model):
    """A service or a package a hospital offers to international patients."""

    hospital = models.ForeignKey(
        "hospitals.Hospital", on_delete=models.CASCADE, related_name="catalog", verbose_name=_("hospital")
    )
    department = models.ForeignKey(
        "hospitals.Department",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="catalog",
        verbose_name=_("department"),
    )
    # The hospital's city, copied so that a search in a city reads the catalog alone: PostgreSQL intersects
    # the words' index with this column's instead of searching the words once per hospital of the city.
    # Written by save() and kept in step when a hospital moves (catalog.signals).
    city = models.ForeignKey(
        "hospitals.City", null=True, editable=False, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    code = models.CharField(_("hospital code"), max_length=40, help_text=_("The hospital's own code."))
    standard_codes = models.JSONField(
        _("standard codes"), default=list, blank=True, help_text=_("A list of {system, code} pairs.")
    )
    name = TranslatedField(_("name"))
    description = TranslatedField(_("description"), textarea=True, blank=True)
    included = TranslatedField(_("included"), textarea=True, blank=True)
    excluded = TranslatedField(_("excluded"), textarea=True, blank=True)
    keywords = models.CharField(
        _("search keywords"),
        max_length=300,
        blank=True,
        help_text=_("Synonyms in any language, e.g. MRI 核磁"),
    )
    comparable = models.ForeignKey(
        ComparableService,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="items",
        verbose_name=_("comparable service"),
    )
    waiting_days = models.PositiveIntegerField(_("typical waiting days"), default=0)
    duration_minutes = models.PositiveIntegerField(_("duration (minutes)"), null=True, blank=True)
    stay_days = models.PositiveIntegerField(_("length of stay (days)"), null=True, blank=True)
    active = models.BooleanField(_("offered"), default=True)
    search_text = models.TextField(editable=False, default="")
    # The price in force today, copied from the Price rows (which stay the record) by
    # catalog.pricing.refresh_current_prices(), so that search filters and sorts on columns.
    # current_price_until is the last day before the next known price starts: past it, a refresh is due;
    # so is a day before current_price_from (a clock set back). Both are indexed for that check.
    current_price_min = models.DecimalField(max_digits=12, decimal_places=2, null=True, editable=False)
    current_price_max = models.DecimalField(max_digits=12, decimal_places=2, null=True, editable=False)
    current_price_from = models.DateField(null=True, editable=False, db_index=True)
    current_price_until = models.DateField(null=True, editable=False, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("catalog item")
        verbose_name_plural = _("catalog items")
        ordering = ["hospital", "code"]
        constraints = [models.UniqueConstraint(fields=["hospital", "code"], name="catalog_code_unique")]
        # The search ranks the published items (offered, with a price today) on (price, hospital, code) and
        # counts them. A kind with a price range (imaging from 50 to 200 USD) and a city or hospital without
        # words are the broad searches without a narrower index: these two hold every column the ranking
        # reads, so that PostgreSQL answers from the index alone (covering columns are PostgreSQL's; SQLite
        # keeps the plain partial index). An index on the price alone would tempt PostgreSQL to walk it for
        # the order of every search.
        indexes = [
            models.Index(
                fields=["kind", "current_price_min"],
                include=["current_price_max", "hospital", "code", "id"],
                condition=Q(active=True, current_price_min__isnull=False),
                name="catalog_item_kind_price_idx",
            ),
            models.Index(
                fields=["hospital", "current_price_min"],
                include=["current_price_max", "code", "id"],
                condition=Q(active=True, current_price_min__isnull=False),
                name="catalog_item_hosp_price_idx",
            ),
            models.Index(
                fields=["city", "current_price_min"],
                include=["current_price_max", "hospital", "code", "id"],
                condition=Q(active=True, current_price_min__isnull=False),
                name="catalog_item_city_price_idx",
            ),
        ]

    def __str__(self):
        return f"{self.code} {pick(self.name)}"

    def save(self, *args, **kwargs):
        self.search_text = self.build_search_text()
        self.city_id = self.hospital.city_id
        if not (self._state.adding or args or kwargs.get("force_insert") or kwargs.get("update_fields") is not None):
            # An instance read before a price changed must not write its stale copy of the price back.
            kwargs["update_fields"] = [
                field.name
                for field in self._meta.concrete_fields
                if not field.primary_key and field.name not in PRICE_COPY_FIELDS
            ]
        super().save(*args, **kwargs)

    def build_search_text(self) -> str:
        parts = [self.code, self.keywords, *self.name.values(), *self.description.values()]
        parts += [entry.get("code", "") for entry in self.standard_codes or []]
        return " ".join(p for p in parts if p).lower()

    def price_on(self, day: datetime.date) -> "Price | None":
        return self.prices.filter(effective_from__lte=day).order_by("-effective_from").first()


class PackageComponent(models.Model):
    package = models.ForeignKey(
        CatalogItem, on_delete=models.CASCADE, related_name="components", verbose_name=_("package")
    )
    item = models.ForeignKey(CatalogItem, on_delete=models.PROTECT, related_name="+", verbose_name=_("service"))
    quantity = models.PositiveIntegerField(_("quantity"), default=1, validators=[MinValueValidator(1)])

    class Meta:
        verbose_name = _("package component")
        verbose_name_plural = _("package components")
        constraints = [
            models.UniqueConstraint(fields=["package", "item"], name="package_component_unique"),
            models.CheckConstraint(name="package_not_its_own_component", condition=~Q(package=F("item"))),
        ]

    def __str__(self):
        return f"{self.quantity} × {self.item}"


class Price(models.Model):
    """A price in CNY in force from a date until the next price of the same item: history is never rewritten."""

    item = models.ForeignKey(CatalogItem, on_delete=models.CASCADE, related_name="prices", verbose_name=_("item"))
    effective_from = models.DateField(_("effective from"))
    amount_min = models.DecimalField(_("price (from)"), max_digits=12, decimal_places=2)
    amount_max = models.DecimalField(_("price (to)"), max_digits=12, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3, default="CNY", editable=False)
    created_by = models.ForeignKey("accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("price")
        verbose_name_plural = _("prices")
        ordering = ["item", "-effective_from"]
        constraints = [
            models.UniqueConstraint(fields=["item", "effective_from"], name="price_one_per_day"),
            models.CheckConstraint(name="price_min_not_negative", condition=Q(amount_min__gte=Decimal("0"))),
            models.CheckConstraint(name="price_range_ordered", condition=Q(amount_max__gte=F("amount_min"))),
        ]

    def __str__(self):
        return f"{self.amount_min}-{self.amount_max} CNY from {self.effective_from}"

    @property
    def is_range(self) -> bool:
        return self.amount_max != self.amount_min


class ReferencePrice(models.Model):
    """What a service costs abroad, with its source: shown beside a hospital's price, never invented."""

    comparable = models.ForeignKey(
        ComparableService, on_delete=models.CASCADE, related_name="references", verbose_name=_("service")
    )
    country = models.CharField(_("country"), max_length=2, help_text=_("ISO 3166-1 alpha-2"))
    amount = models.DecimalField(_("price"), max_digits=12, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3)
    year = models.PositiveIntegerField(_("year"))
    source = models.CharField(_("source"), max_length=300)
    source_url = models.URLField(_("source address"), blank=True)
    note = TranslatedField(_("note"), blank=True)

    class Meta:
        verbose_name = _("reference price abroad")
        verbose_name_plural = _("reference prices abroad")
        ordering = ["comparable", "country", "-year"]
        constraints = [models.UniqueConstraint(fields=["comparable", "country", "year"], name="reference_price_unique")]

    def __str__(self):
        return f"{self.comparable.key} {self.country} {self.year}: {self.amount} {self.currency}"


# Real prices are published for an item only from this many closed, invoiced cases on.
PAID_PRICE_MIN_CASES = 10


class PaidPriceSummary(models.Model):
    """What patients actually paid for an item, over the closed, invoiced cases that contained it: the
    number of cases, the median and the 10th and 90th percentiles (nearest rank), in CNY to the fen.

    Written by the fairness app (which reads billing; catalog may not) and read by the public pages and
    the price files. A row exists only for an item with at least PAID_PRICE_MIN_CASES cases."""

    item = models.OneToOneField(
        CatalogItem, on_delete=models.CASCADE, primary_key=True, related_name="paid_summary", verbose_name=_("item")
    )
    cases = models.PositiveIntegerField(_("cases"))
    median = models.DecimalField(_("median paid"), max_digits=12, decimal_places=2)
    p10 = models.DecimalField(_("10th percentile"), max_digits=12, decimal_places=2)
    p90 = models.DecimalField(_("90th percentile"), max_digits=12, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3, default="CNY", editable=False)
    updated_at = models.DateTimeField(_("computed at"))

    class Meta:
        verbose_name = _("real price")
        verbose_name_plural = _("real prices")
        constraints = [
            models.CheckConstraint(name="paid_summary_enough_cases", condition=Q(cases__gte=PAID_PRICE_MIN_CASES)),
            models.CheckConstraint(
                name="paid_summary_ordered", condition=Q(p10__lte=F("median")) & Q(median__lte=F("p90"))
            ),
        ]

    def __str__(self):
        return f"{self.item_id}: median {self.median} CNY over {self.cases} cases"

from django.db import models
from django.utils.translation import gettext_lazy as _


class ExchangeRate(models.Model):
    """A rate the platform admin maintains: how many CNY one unit of the currency is worth on a date."""

    currency = models.CharField(_("currency"), max_length=3)
    rate_date = models.DateField(_("date"))
    cny_per_unit = models.DecimalField(_("CNY per unit"), max_digits=18, decimal_places=8)
    source = models.CharField(_("source"), max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("exchange rate")
        verbose_name_plural = _("exchange rates")
        ordering = ["currency", "-rate_date"]
        constraints = [
            models.UniqueConstraint(fields=["currency", "rate_date"], name="rate_one_per_day"),
            models.CheckConstraint(name="rate_positive", condition=models.Q(cny_per_unit__gt=0)),
        ]

    def __str__(self):
        return f"1 {self.currency} = {self.cny_per_unit} CNY ({self.rate_date})"

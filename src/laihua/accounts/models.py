import hashlib
import secrets

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    PLATFORM_ADMIN = "platform_admin", _("Platform administrator")
    HOSPITAL_ADMIN = "hospital_admin", _("Hospital administrator")
    COORDINATOR = "coordinator", _("International coordinator")
    CLINICIAN = "clinician", _("Clinician")
    FINANCE = "finance", _("Finance")
    INSURER_AGENT = "insurer_agent", _("Insurer agent")
    PATIENT = "patient", _("Patient")
    INTERPRETER = "interpreter", _("Interpreter")
    CITY_HEALTH_COMMISSION = "city_health_commission", _("City health commission")


HOSPITAL_STAFF_ROLES = frozenset({Role.HOSPITAL_ADMIN, Role.COORDINATOR, Role.CLINICIAN, Role.FINANCE})


class User(AbstractUser):
    """A person who signs in: staff of one hospital, a platform admin, an insurer agent or a patient."""

    role = models.CharField(_("role"), max_length=32, choices=Role.choices, default=Role.PATIENT)
    hospital = models.ForeignKey(
        "hospitals.Hospital",
        verbose_name=_("hospital"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="staff",
    )
    preferred_language = models.CharField(_("preferred language"), max_length=16, blank=True)
    preferred_currency = models.CharField(_("preferred currency"), max_length=3, blank=True)
    # A patient who registered and has not yet opened the link e-mailed to them (the account is inactive).
    registration_pending = models.BooleanField(_("registration not confirmed"), default=False)

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        constraints = [
            models.CheckConstraint(
                name="hospital_staff_belong_to_a_hospital",
                condition=~models.Q(role__in=sorted(HOSPITAL_STAFF_ROLES)) | models.Q(hospital__isnull=False),
            ),
            models.CheckConstraint(
                name="interpreters_belong_to_a_hospital",
                condition=~models.Q(role="interpreter") | models.Q(hospital__isnull=False),
            ),
        ]

    @property
    def is_hospital_staff(self) -> bool:
        return self.role in HOSPITAL_STAFF_ROLES

    @property
    def is_platform_admin(self) -> bool:
        return self.role == Role.PLATFORM_ADMIN


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


class ApiToken(models.Model):
    """A personal API token; only its SHA-256 hash is stored, the token itself is shown once."""

    PREFIX = "lh_"

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens", verbose_name=_("user"))
    name = models.CharField(_("name"), max_length=100)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    hint = models.CharField(_("starts with"), max_length=12, editable=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    expires_at = models.DateTimeField(_("expires"))
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.name} ({self.hint}…)"

    @classmethod
    def new_secret(cls) -> str:
        return cls.PREFIX + secrets.token_urlsafe(32)

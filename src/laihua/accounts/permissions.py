"""Who may do what: the checks every service makes before it reads or changes anything.

The lowest piece of the access rules: it knows the roles and the acting user, nothing of any domain,
so that every domain (audit included) may call it."""

from collections.abc import Iterable

from django.utils.translation import gettext as _

from laihua.accounts.models import Role, User
from laihua.errors import PermissionDenied

# The hospital roles that work on cases (an insurer agent is not hospital staff).
STAFF_ROLES = (Role.HOSPITAL_ADMIN, Role.COORDINATOR, Role.CLINICIAN, Role.FINANCE)
# The hospital roles that read their own hospital's analytics; the city and the platform read every hospital's.
ANALYTICS_HOSPITAL_ROLES = (Role.HOSPITAL_ADMIN, Role.COORDINATOR, Role.FINANCE)
ANALYTICS_CITY_ROLES = (Role.CITY_HEALTH_COMMISSION, Role.PLATFORM_ADMIN)


def require_role(actor: User | None, roles: Iterable[str]) -> User:
    """The actor must be signed in with one of the roles."""
    if actor is None or not actor.is_authenticated:
        raise PermissionDenied(_("Sign in first."), code="unauthenticated", status=401)
    if actor.role not in set(roles):
        raise PermissionDenied()
    return actor


def require_hospital_staff(actor: User | None, hospital, roles: Iterable[str]) -> User:
    """The actor must be staff of this very hospital with one of the roles."""
    require_role(actor, roles)
    if actor.hospital_id is None or actor.hospital_id != hospital.pk:
        raise PermissionDenied(_("This belongs to another hospital."))
    return actor

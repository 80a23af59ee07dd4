"""`load_demo()`: the whole demo, in order: hospitals, catalogs, accounts and rates, then the journeys.

Importing this module reads every data file, so a bad one is refused before anything is written.
"""

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from laihua.accounts.models import User
from laihua.analytics.services import refresh_all
from laihua.audit.services import record_event
from laihua.catalog import reference_data
from laihua.demo import (
    billing,
    capacity,
    cases,
    history,
    hospitals,
    insurance,
    interpreters,
    patients,
    planning,
    quotes,
    records,
    statements,
    stay,
    travel,
)
from laihua.errors import Conflict
from laihua.hospitals.models import Hospital


def holds_real_data() -> bool:
    """True when the database holds more than the demo: a hospital not marked as demo, or an account other
    than the demo's (in demo mode, patients who registered on the demo site are part of the demo)."""
    from laihua.accounts.models import Role

    if Hospital.objects.filter(is_demo=False).exists():
        return True
    others = User.objects.exclude(username__in=[user.username for user in hospitals.USERS])
    others = others.exclude(pk__in=history.history_users().filter(role=Role.PATIENT, is_superuser=False))
    if getattr(settings, "DEMO_MODE", False):
        others = others.exclude(role=Role.PATIENT, is_superuser=False)
    return others.exists()


def refuse_on_a_live_site() -> None:
    """Demo accounts have a published password: only an empty or demo-only database takes them, whatever
    LAIHUA_DEMO says."""
    if holds_real_data():
        raise Conflict(
            _(
                "This database holds real hospitals or accounts, and the demo accounts have a published "
                "password. Load the demo data only into an empty database of its own (LAIHUA_DEMO=1)."
            )
        )


@transaction.atomic
def _journeys() -> None:
    """Patient profiles, letter settings, a few cases and their quotes (each loader is idempotent)."""
    patients.load()
    travel.load()
    cases.load()
    quotes.load()
    capacity.load()
    insurance.load()
    interpreters.load()  # before the planned trips, so that their visits get interpreters
    planning.load()
    stay.load()
    records.load()
    billing.load()
    statements.load()
    if getattr(settings, "LAIHUA_DEMO_HISTORY", True):
        history.load()


def load_demo() -> hospitals.DemoSummary:
    """Load or refresh the demo hospitals, users, catalogs, rates, the shipped reference prices and the journeys."""
    refuse_on_a_live_site()
    summary = hospitals.DemoSummary()
    summary.reference = reference_data.load_reference_data(None)
    loaded = {}
    for spec in hospitals.HOSPITALS:
        loaded[spec.code] = hospitals.load_hospital(spec)
        hospitals.load_catalog(spec, loaded[spec.code], summary)
    summary.hospitals = len(loaded)
    hospitals.load_users(loaded, summary)
    hospitals.load_rates(summary)
    _journeys()
    # The analytics pages read roll-ups that the refresh job keeps; build them now, so they show the demo at once.
    refresh_all(only_changed=False)
    if summary.users_created or summary.prices_created or summary.rates_created:
        record_event(
            None,
            "demo.load",
            None,
            detail={
                "hospitals": summary.hospitals,
                "items": summary.items,
                "users_created": summary.users_created,
                "prices_created": summary.prices_created,
                "rates_created": summary.rates_created,
            },
        )
    return summary

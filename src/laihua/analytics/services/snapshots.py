"""The refresh job's snapshots of the pages' views for the default period (the twelve months up to this one),
in every language: the page a reader opens first is read from one row instead of the roll-ups
(models.ViewSnapshot)."""

import datetime

from django.conf import settings
from django.db import transaction
from django.utils import translation

from laihua.analytics.models import ViewSnapshot
from laihua.analytics.services.access import parse_filters
from laihua.analytics.services.figures import (
    CACHE_PREFIX,
    CITY_VIEWS,
    HOSPITAL_VIEWS,
    VIEWS_CACHE_SECONDS,
    Scope,
    build_views,
    encode_views,
    refresh_stamps,
    stored_view_keys,
    views_cache_key,
)
from laihua.hospitals.models import Hospital
from laihua.kit import clock


def _snapshot(scope: Scope, keys: tuple[str, ...], states: dict, hospital: Hospital | None) -> list[ViewSnapshot]:
    stored_keys = stored_view_keys(keys)
    out = []
    for language, _name in settings.LANGUAGES:
        with translation.override(language):
            key = views_cache_key(scope, stored_keys, language, states).removeprefix(CACHE_PREFIX)
            views = {view["key"]: view for view in build_views(scope, stored_keys)}
        out.append(
            ViewSnapshot(key=key, hospital=hospital, language=language, views=encode_views(views), built_at=clock.now())
        )
    return out


def _replace(hospital: Hospital | None, snapshots: list[ViewSnapshot]) -> None:
    with transaction.atomic():
        ViewSnapshot.objects.filter(hospital=hospital).delete()
        ViewSnapshot.objects.bulk_create(snapshots)


def snapshot_hospital(hospital: Hospital) -> None:
    """The hospital's page for the default period, in every language, under its current refresh stamp."""
    states = refresh_stamps([hospital.pk])
    if not states:
        return
    _replace(hospital, _snapshot(Scope([hospital], parse_filters(hospital), "month"), HOSPITAL_VIEWS, states, hospital))


def snapshot_city() -> None:
    """The city's page (every hospital, pilots first) for the default period, in every language."""
    hospitals = list(Hospital.objects.select_related("city").order_by("-pilot", "slug"))
    states = refresh_stamps([hospital.pk for hospital in hospitals])
    if not states:
        return
    _replace(None, _snapshot(Scope(hospitals, parse_filters(None), "hospital_id"), CITY_VIEWS, states, None))


# The refresh job renews a snapshot older than this, well before the pages stop reading it (VIEWS_CACHE_SECONDS).
RENEW_AFTER = datetime.timedelta(seconds=VIEWS_CACHE_SECONDS // 2)


def renew_old_snapshots(refreshed: list[Hospital]) -> None:
    """After a refresh run: the city's snapshot when any hospital was rebuilt, and every snapshot (hospital or
    city) missing or older than RENEW_AFTER, so that names changed since (a department, a service) show."""
    old = clock.now() - RENEW_AFTER
    fresh = set(ViewSnapshot.objects.filter(built_at__gte=old).values_list("hospital_id", flat=True).distinct())
    done = {hospital.pk for hospital in refreshed}
    for hospital in Hospital.objects.order_by("slug"):
        if hospital.pk not in done and hospital.pk not in fresh:
            snapshot_hospital(hospital)
    if refreshed or None not in fresh:
        snapshot_city()

"""The one source of 'now' and 'today' (in the hospital's time zone, settings.TIME_ZONE)."""

import datetime

from django.utils import timezone


def now() -> datetime.datetime:
    return timezone.now()


def today() -> datetime.date:
    return timezone.localdate()

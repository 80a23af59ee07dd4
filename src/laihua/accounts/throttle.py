"""Counting attempts: sign-in failures (django-axes) and requests that send e-mail (Django's cache).

Sign-in: django-axes counts failures per username and address, and per address alone across every
username. One failure limit applies to both in axes, so `LoginFailureHandler` scales the address-wide
count: the address is locked after LAIHUA_LOGIN_IP_FAILURE_LIMIT failures, a username at an address
after LAIHUA_LOGIN_FAILURE_LIMIT. A successful sign-in clears only its own username's failures, so one
working account cannot wipe out the count of guesses made at others.

Password reset and registration: fixed windows in the project's cache (CACHES), keyed by a hash of the
client address or e-mail address, never the address itself.
"""

import hashlib

from axes.handlers.database import AxesDatabaseHandler
from django.conf import settings
from django.core.cache import cache
from django.db.models import Sum


class LoginFailureHandler(AxesDatabaseHandler):
    """django-axes' database handler with a separate, higher limit for the client address alone."""

    def get_failures(self, request, credentials=None) -> int:
        counts = [
            attempts.aggregate(total=Sum("failures_since_start"))["total"] or 0
            for attempts in self.get_user_attempts(request, credentials)
        ]
        pair = counts[0] if counts else 0
        address = counts[1] if len(counts) > 1 else 0
        pair_limit, address_limit = settings.AXES_FAILURE_LIMIT, settings.LAIHUA_LOGIN_IP_FAILURE_LIMIT
        locked_by_address = address >= address_limit
        if request is not None:
            request.laihua_locked_by_address = locked_by_address
        # Axes compares one number with AXES_FAILURE_LIMIT: the address's count is scaled onto that limit,
        # rounding down, so that it reaches it exactly when the address reaches its own limit.
        return max(pair, address * pair_limit // address_limit)

    def reset_user_attempts(self, request, credentials=None) -> int:
        """After a successful sign-in, forget that username's failures at this address, not the address's."""
        attempts = self.filter_user_attempts(request, credentials)
        if not attempts:
            return 0
        deleted, _ = attempts[0].delete()
        return deleted


def _key(scope: str, value: str) -> str:
    digest = hashlib.sha256(f"{scope}:{value}".encode()).hexdigest()[:32]
    return f"laihua:throttle:{scope}:{digest}"


def hit(scope: str, value: str | None, *, limit: int, window_seconds: int) -> bool:
    """Count one attempt for `value` in `scope`; False when it is over `limit` within the window."""
    if not value:
        return True
    key = _key(scope, value)
    cache.add(key, 0, timeout=window_seconds)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add() and incr()
        cache.set(key, 1, timeout=window_seconds)
        count = 1
    return count <= limit


def over_limit(scope: str, value: str | None, *, limit: int) -> bool:
    """Whether `value` has already used up its attempts in `scope` (without counting one more)."""
    return bool(value) and (cache.get(_key(scope, value)) or 0) >= limit

"""Signals other domains listen to, so that cases never import them (quotes withdraws open quotes)."""

from django.dispatch import Signal

# Sent inside move()'s transaction after the state changed: sender=Case, case, previous, to, actor.
case_moved = Signal()

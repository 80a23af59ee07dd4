"""Signals other domains listen to, so that capacity never imports them (fairness keeps its monthly
roll-up current from them)."""

from django.dispatch import Signal

# Sent inside the transaction that booked or cancelled: sender=Booking, hospital_id, days (the days whose
# international use changed). A receiver that writes should do so on commit.
bookings_changed = Signal()

"""Signals that let domains above travel answer its questions without travel importing them.

`booked_trip` is sent to ask for a case's booked trip (sender=Case, case=...): a receiver returns
(arrival, departure) dates for the trip it has booked, or None. Planning answers with the confirmed
itinerary, so the entry check, the invitation letter and the GOP follow the booked dates.
"""

from django.dispatch import Signal

booked_trip = Signal()

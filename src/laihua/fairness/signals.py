"""Signals the fairness domain sends, so that it never imports the job layer."""

from django.dispatch import Signal

# Sent after a booking change committed: hospital_id, months (first days). A receiver that takes the recount
# over (a job queued) returns True; when none does, the recount runs at once in the sender's process.
recount_wanted = Signal()

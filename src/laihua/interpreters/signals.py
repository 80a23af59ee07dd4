"""Signals that let domains above interpreters answer a change of the pool without interpreters importing them.

`pool_changed` is sent (sender=Interpreter, hospital_id=..., actor=...) after an interpreter is added or
changed, days away are added or removed, or a CSV import: planning re-solves who interprets the hospital's
planned visits from today on, so that no visit keeps an interpreter who is now away or off, and a visit left
without one may get the interpreter now free.
"""

from django.dispatch import Signal

pool_changed = Signal()

"""What the records domain asks of the layers above it: `pdf_wanted` (sender PreparedPdf, `pk`) is sent once the
transaction that asked for a records PDF to be prepared commits; the jobs app queues the job that renders it."""

from django.dispatch import Signal

pdf_wanted = Signal()

"""The request id travels with a job: put in the task's headers when a request (or a job) queues it, and set
again in the worker while the job runs, so that the worker's log lines carry the id of the request."""

import logging

from celery import signals
from django.dispatch import receiver

from laihua.fairness.signals import recount_wanted
from laihua.kit.requestctx import request_id
from laihua.records.signals import pdf_wanted

HEADER = "laihua_request_id"
logger = logging.getLogger("laihua.jobs")
_tokens: dict[str, object] = {}


@signals.before_task_publish.connect
def carry_request_id(headers=None, **_kwargs):
    current = request_id.get()
    if current and headers is not None:
        headers.setdefault(HEADER, current)


@signals.task_prerun.connect
def adopt_request_id(task_id=None, task=None, **_kwargs):
    carried = getattr(task.request, HEADER, None) or (task.request.headers or {}).get(HEADER) or request_id.get()
    _tokens[task_id] = request_id.set(carried or "")
    logger.info("Job %s (%s) started.", task.name, task_id)


@signals.task_postrun.connect
def drop_request_id(task_id=None, task=None, state=None, **_kwargs):
    logger.info("Job %s (%s) ended: %s.", task.name, task_id, state)
    token = _tokens.pop(task_id, None)
    if token is not None:
        request_id.reset(token)


@receiver(pdf_wanted, weak=False, dispatch_uid="laihua.jobs.queue_pdf")
def queue_pdf(pk=None, **_kwargs):
    """A records PDF was asked for and its row committed: queue the job that renders it."""
    from laihua.jobs.tasks import enqueue_pdf

    enqueue_pdf(pk)


@receiver(recount_wanted, weak=False, dispatch_uid="laihua.jobs.queue_fairness_recount")
def queue_fairness_recount(hospital_id=None, months=(), **_kwargs) -> bool:
    """Bookings changed: the fairness roll-up's months are recounted by a job (without a broker, at the next
    read of the report)."""
    from laihua.jobs.tasks import enqueue_fairness_recount

    return enqueue_fairness_recount(hospital_id, list(months))

"""The transactional outbox: every side effect of a write is a row of that write.

A write that must cause something later (emails about a ticket, a delivery, later
webhooks) stores it in its own transaction, as an `OutboxJob` (work for a worker)
or an `OutboundEmail` (a rendered email). Both commit or roll back with the write,
so a request that succeeded has its side effects recorded, whatever the broker does.

    job = outbox_enqueue(tenant=t, handler=notify, event="created", ticket_id=7)

The broker only wakes workers: after commit, `wake_on_commit` publishes a task naming
the row. A publish that fails (Redis stopped, unreachable, or just restarting) is
logged and forgotten, never raised into the request that has already committed.
What a lost wake-up leaves, the sweep finds: `outbox_sweep`, run by beat every
minute, runs the jobs and delivers the emails whose `retry_at` has passed.

Running a job (`outbox_run`), in one transaction:
1. Lock the row, skipping it if another worker holds it (FOR UPDATE SKIP LOCKED).
2. Call its handler inside a savepoint; the handler only writes to the database.
3. Success: delete the row, so the handler's writes and the row's end commit
   together; a worker killed before the commit leaves both undone for the sweep.
   Failure: roll the savepoint back, count the attempt and set `retry_at` after a
   back-off; after MAX_ATTEMPTS the row is marked failed and waits for an admin.

Effects outside the database (SMTP, HTTP) are never done by a handler: a handler
stores them as rows with their own claim (as `OutboundEmail` is), because they
cannot be rolled back.
"""

from __future__ import annotations

import functools
import importlib
import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import redis
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django_scopes import scopes_disabled
from kombu.exceptions import KombuError

from helpdesk.breaker import Breaker
from helpdesk.models import OutboundEmail, OutboxJob, Tenant

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 10
# A row the sweep published is not published again before this, unless it ran and failed.
SWEEP_LEASE = timedelta(minutes=2)
SWEEP_BATCH = 500

_handlers: dict[str, Callable[..., Any]] = {}
broker = Breaker("Celery broker (Redis)")


# -- handlers -------------------------------------------------------------------------------


def outbox_handler(function: Callable[..., Any]) -> Callable[..., Any]:
    """Declare a function a job may run: `handler(tenant, **payload)`, in the tenant's
    scope, writing only to the database. Rows name it by its dotted path."""
    _handlers[handler_name(function)] = function
    return function


def handler_name(function: Callable[..., Any]) -> str:
    return f"{function.__module__}.{function.__qualname__}"


def _handler(name: str) -> Callable[..., Any]:
    if name not in _handlers:
        # The worker may not have imported the module yet; importing it registers it.
        importlib.import_module(name.rsplit(".", 1)[0])
    try:
        return _handlers[name]
    except KeyError:
        raise LookupError(f"{name} is not an @outbox_handler") from None


# -- writing ---------------------------------------------------------------------------------


def wake_up_grace() -> timedelta:
    """How long a new row is left to its wake-up before the sweep takes it."""
    return timedelta(seconds=settings.OUTBOX_WAKE_UP_GRACE)


def outbox_enqueue(*, tenant: Tenant, handler: Callable[..., Any], **payload: Any) -> OutboxJob:
    """Store a job in the current transaction; a worker runs it after commit."""
    from helpdesk.tasks import run_outbox_job

    name = handler_name(handler)
    if _handlers.get(name) is not handler:
        raise ValueError(f"{name} is not an @outbox_handler")
    job = OutboxJob.objects.create(
        tenant=tenant,
        handler=name,
        payload=payload,
        retry_at=timezone.now() + wake_up_grace(),
    )
    wake_on_commit(run_outbox_job, tenant.pk, job.pk)
    return job


def wake_on_commit(task: Any, *args: Any) -> None:
    """Publish `task(*args)` once the current transaction commits (at once outside one).

    Only a wake-up: the work it names is a committed row that the sweep also finds,
    so a publish that fails is logged, never raised into the request. A task queued
    before commit could run before its rows are visible, one queued inside a
    transaction that rolls back would act on rows that never existed.
    """
    transaction.on_commit(functools.partial(_publish, task, args))


def _publish(task: Any, args: tuple) -> None:
    if task.app.conf.task_always_eager:
        # Run in-process (tests): the task's own errors must surface.
        task.apply_async(args, ignore_result=True)
        return
    if not broker.available():
        return
    try:
        # No result is kept: nobody waits for a wake-up. No retries: the sweep is the retry.
        task.apply_async(args, ignore_result=True, retry=False)
    except (KombuError, OSError, redis.RedisError) as error:
        broker.failed(error)
    else:
        broker.succeeded()


# -- running --------------------------------------------------------------------------------


def backoff(attempts: int) -> timedelta:
    """30 s, 1, 2, 4 ... minutes, at most an hour."""
    return timedelta(seconds=min(30 * 2 ** max(attempts - 1, 0), 3600))


def outbox_run(*, job_id: int) -> bool:
    """Run one job if it is still there and nobody else is running it; True if it ran."""
    with transaction.atomic():
        job = (
            OutboxJob.objects.select_for_update(skip_locked=True)
            .select_related("tenant")
            .filter(pk=job_id, failed_at=None)
            .first()
        )
        if job is None:
            return False  # done already, failed for good, or another worker has it
        try:
            with transaction.atomic():
                _handler(job.handler)(job.tenant, **job.payload)
        except Exception as error:
            _record_failure(job, error)
            return False
        job.delete()
    return True


def _record_failure(job: OutboxJob, error: Exception) -> None:
    now = timezone.now()
    job.attempts += 1
    job.last_error = f"{type(error).__name__}: {error}"[:2000]
    if job.attempts >= MAX_ATTEMPTS:
        job.failed_at = now
        logger.error("Background job %s #%s failed for good", job.handler, job.pk, exc_info=error)
    else:
        job.retry_at = now + backoff(job.attempts)
        logger.warning(
            "Background job %s #%s failed (attempt %d), retried after %s: %s",
            job.handler,
            job.pk,
            job.attempts,
            backoff(job.attempts),
            job.last_error,
        )
    job.save(update_fields=["attempts", "last_error", "failed_at", "retry_at"])


def outbox_job_retry(*, job: OutboxJob) -> None:
    """An admin's "run again" for a job that failed for good."""
    OutboxJob.objects.filter(pk=job.pk).update(
        failed_at=None, attempts=0, retry_at=timezone.now(), last_error=""
    )
    from helpdesk.tasks import run_outbox_job

    wake_on_commit(run_outbox_job, job.tenant_id, job.pk)


# -- the sweep --------------------------------------------------------------------------------


def _claim_due(table: str, condition: str, now, limit: int) -> list[tuple[int, int]]:
    """Move the `retry_at` of up to `limit` due rows a lease ahead; their (tenant, id).

    So a row the sweep handed to the broker is not handed again by the next sweep
    while its task waits in the queue, and two sweeps at once share out the rows.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            UPDATE {table} SET retry_at = %s
            WHERE id IN (
                SELECT id FROM {table} WHERE {condition} AND retry_at <= %s
                ORDER BY retry_at LIMIT %s FOR UPDATE SKIP LOCKED
            )
            RETURNING tenant_id, id
            """,  # noqa: S608 - table and condition are ours
            [now + SWEEP_LEASE, now, limit],
        )
        return cursor.fetchall()


def outbox_sweep(*, now=None) -> dict[str, int]:
    """Hand the broker what wake-ups missed, and settle deliveries that cannot end.

    - jobs due (never run, or failed and backed off): one task each;
    - queued emails due (wake-up lost, or a failed attempt backed off): one task each;
    - emails claimed longer ago than any task may run: the worker died mid-send,
      so they are marked UNKNOWN for an admin, never sent again on a guess.
    """
    from helpdesk.tasks import deliver_email, run_outbox_job

    now = now or timezone.now()
    jobs = _claim_due(OutboxJob._meta.db_table, "failed_at IS NULL", now, SWEEP_BATCH)
    emails = _claim_due(OutboundEmail._meta.db_table, "status = 'queued'", now, SWEEP_BATCH)
    for tenant_id, job_id in jobs:
        _publish(run_outbox_job, (tenant_id, job_id))
    for tenant_id, email_id in emails:
        _publish(deliver_email, (tenant_id, email_id))
    with scopes_disabled():
        unknown = OutboundEmail.objects.filter(
            status=OutboundEmail.Status.SENDING,
            claimed_at__lt=now - timedelta(seconds=settings.EMAIL_SENDING_UNKNOWN_AFTER),
        ).update(status=OutboundEmail.Status.UNKNOWN)
    if unknown:
        logger.warning("%d emails were being sent when their worker died: unknown.", unknown)
    return {"jobs": len(jobs), "emails": len(emails), "unknown": unknown}

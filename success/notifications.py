"""Emails of customer success: a CSM hears of the touchpoints the daily run gave them.

One email per CSM per run, listing the new tasks, queued in the outbox in the run's
transaction (helpdesk.services.email_queue: delivered after commit, exactly once; the
dedupe key names the tasks, so a run retried never mails them twice). Tasks of the
shared pool mail nobody: the pool is on every CSM's workspace.
"""

from __future__ import annotations

from collections import defaultdict

from django.urls import reverse
from django.utils import translation

from helpdesk.models import Tenant, User
from helpdesk.services import email_queue_template
from helpdesk.tenancy import tenant_url
from success.models import SuccessTask


def tasks_assigned(tenant: Tenant, tasks: list[SuccessTask]) -> int:
    """Queue each owner's email about their new `tasks` (saved, so they have ids);
    returns how many were queued."""
    by_owner: dict[int, list[SuccessTask]] = defaultdict(list)
    for task in tasks:
        if task.owner_id is not None:
            by_owner[task.owner_id].append(task)
    if not by_owner:
        return 0
    owners = User.objects.in_bulk(list(by_owner))
    workspace = tenant_url(tenant, reverse("success_workspace"))
    queued = 0
    for owner_id, owned in by_owner.items():
        owner = owners.get(owner_id)
        if owner is None or not owner.is_active:
            continue
        owned.sort(key=lambda task: (task.due_date, task.pk))
        with translation.override(owner.preferred_language or tenant.default_language):
            email_queue_template(
                tenant=tenant,
                to=[owner.email],
                template_prefix="success/email/tasks_assigned",
                context={
                    "recipient": owner,
                    "tasks": [
                        (task, tenant_url(tenant, reverse("success_task", args=[task.pk])))
                        for task in owned
                    ],
                    "workspace_url": workspace,
                },
                dedupe_key="success-tasks:" + ",".join(str(task.pk) for task in owned),
            )
        queued += 1
    return queued

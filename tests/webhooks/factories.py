from contextlib import contextmanager
from datetime import timedelta

import time_machine
from django.utils import timezone

from webhooks.models import WebhookDelivery, WebhookEndpoint
from webhooks.services import webhook_sweep


def make_endpoint(
    desk, url: str, *, events=("ticket.created",), format="json", name="", **fields
) -> WebhookEndpoint:
    with desk.scope():
        return WebhookEndpoint.objects.create(
            tenant=desk.tenant,
            name=name or f"{desk.tenant.name} hook",
            url=url,
            events=list(events),
            format=format,
            **fields,
        )


def deliveries(desk, **filters) -> list[WebhookDelivery]:
    with desk.scope():
        return list(
            WebhookDelivery.objects.filter(**filters).select_related("endpoint").order_by("pk")
        )


@contextmanager
def later(minutes: float):
    """The clock `minutes` ahead, standing still (time_machine), for the block."""
    with time_machine.travel(timezone.now() + timedelta(minutes=minutes), tick=False):
        yield


def sweep(django_capture_on_commit_callbacks) -> dict:
    """Beat's sweep, with the wake-ups it publishes run at once (eager tasks)."""
    with django_capture_on_commit_callbacks(execute=True):
        return webhook_sweep()

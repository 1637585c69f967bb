"""The demo desk's example endpoint (`manage.py seed_demo`): inactive, as it would post
to the internet; an admin fills in a real address and turns it on."""

from helpdesk.models import Tenant
from webhooks.models import EventType, WebhookEndpoint


def seed_webhooks(tenant: Tenant) -> None:
    WebhookEndpoint.objects.get_or_create(
        tenant=tenant,
        name="Support team channel (example)",
        defaults={
            "url": "https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX",
            "format": WebhookEndpoint.Format.SLACK,
            "events": [EventType.TICKET_CREATED, EventType.SLA_BREACHED],
            "is_active": False,
        },
    )

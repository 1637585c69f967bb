"""A rule's "call a webhook": the ticket as the rule left it, posted to the endpoint
(webhooks/), once per firing however often the job runs."""

from __future__ import annotations

from tickets.models import Ticket
from webhooks.models import TRIGGER_FIRED, WebhookEndpoint
from webhooks.services import ticket_payload, webhook_enqueue


def call_webhook(rule, endpoint_id: int, ticket: Ticket, occurrence: str) -> None:
    endpoint = WebhookEndpoint.objects.filter(pk=endpoint_id).first()
    if endpoint is None:
        return
    webhook_enqueue(
        endpoint=endpoint,
        event_type=TRIGGER_FIRED,
        # The firing's own name: a job run again finds its delivery stored.
        event_id=occurrence,
        data={
            "trigger": {"id": rule.pk, "name": rule.name, "kind": rule.kind},
            "ticket": ticket_payload(ticket),
        },
    )

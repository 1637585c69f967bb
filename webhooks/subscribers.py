"""Webhooks hear of the events an endpoint may choose (webhooks.models.EventType)."""

from chat.domain_events import ChatEnded, ChatStarted
from feedback.events import CsatRated
from helpdesk import events
from sla.events import SlaBreached, SlaWarning
from tickets.events import (
    AgentReplied,
    CustomerReplied,
    NoteAdded,
    TicketChanged,
    TicketCreated,
    TicketMerged,
    TicketReopened,
    TicketSolved,
)
from webhooks.services import endpoints_for_event, webhook_deliveries_for_event


def _wanted(event) -> bool:
    # Read from the cache: a desk without endpoints pays one cache read per event.
    return bool(endpoints_for_event(event))


@events.subscribe(
    TicketCreated,
    TicketChanged,
    CustomerReplied,
    AgentReplied,
    NoteAdded,
    TicketSolved,
    TicketReopened,
    TicketMerged,
    SlaWarning,
    SlaBreached,
    CsatRated,
    ChatStarted,
    ChatEnded,
    phase=events.IN_TRANSACTION,
    only_if=_wanted,
)
def enqueue_webhook_deliveries(event) -> None:
    """In the publisher's transaction: the payload is the ticket as this event left it
    (a later change cannot alter it), and the delivery rows commit with the change."""
    webhook_deliveries_for_event(event)

"""Routing hears of every new ticket."""

from helpdesk import events
from routing.services import route_new_ticket
from tickets.events import TicketCreated


@events.subscribe(TicketCreated, phase=events.IN_TRANSACTION)
def route(event: TicketCreated) -> None:
    """In the creation's transaction: the ticket reaches the queue already in its group
    and with its agent, and whoever created it (the API's answer) sees them."""
    ticket = event.live["ticket"]
    routed = route_new_ticket(ticket, event.live.get("message"))
    if routed is not ticket:
        ticket.group, ticket.assignee = routed.group, routed.assignee
        ticket.updated_at = routed.updated_at

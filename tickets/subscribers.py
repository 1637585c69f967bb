"""Who hears of a ticket's events by email (tickets/notifications.py renders them).

Most run in a worker after the change commits (helpdesk/events.py); the event's id is
the emails' occurrence, so a run repeated after a crash queues nothing twice.
"""

from datetime import datetime

from helpdesk import events
from sla.events import SlaBreached, SlaEscalated, SlaWarning
from tickets import notifications
from tickets.events import (
    AgentReplied,
    CustomerReplied,
    MailHeld,
    TicketChanged,
    TicketCreated,
    TicketSolved,
    TranscriptAsked,
)


def _deliver(event, what: str, message_id: int | None = None) -> None:
    notifications.deliver_ticket_event(
        event.live["tenant"],
        event=what,
        ticket_id=event.ticket_id,
        message_id=message_id,
        occurrence=event.id,
    )


def _assigned_by_someone_else(event) -> bool:
    if isinstance(event, TicketCreated):
        assignee = event.assignee_id
    else:
        assignee = event.changes.get("assignee", {}).get("new")
    return assignee is not None and assignee != event.actor_id


def _notify(event) -> bool:
    return event.notify


@events.subscribe(TicketCreated, only_if=lambda e: e.notify or _assigned_by_someone_else(e))
def email_ticket_created(event: TicketCreated) -> None:
    """The requester's acknowledgement (or the agent's description, when an agent opened
    it for them) and the agents' "new ticket"; the assignee hears it is theirs."""
    if event.notify:
        what = "opened_for_customer" if event.by_desk else "created"
        _deliver(event, what, event.message_id)
    if _assigned_by_someone_else(event):
        _deliver(event, "assigned")


@events.subscribe(TicketChanged, only_if=_assigned_by_someone_else)
def email_ticket_assigned(event: TicketChanged) -> None:
    """An agent given a ticket by someone else hears it is theirs."""
    _deliver(event, "assigned")


# A line of a live chat (notify=False) is read as it is written: no email.


@events.subscribe(AgentReplied, only_if=_notify)
def email_agent_reply(event: AgentReplied) -> None:
    _deliver(event, "agent_replied", event.message_id)


@events.subscribe(CustomerReplied, only_if=_notify)
def email_customer_reply(event: CustomerReplied) -> None:
    _deliver(event, "customer_replied", event.message_id)


@events.subscribe(TicketSolved)
def email_ticket_solved(event: TicketSolved) -> None:
    _deliver(event, "solved")


@events.subscribe(MailHeld)
def email_mail_held(event: MailHeld) -> None:
    _deliver(event, "unverified_mail", event.message_id)


@events.subscribe(TranscriptAsked)
def email_transcript(event: TranscriptAsked) -> None:
    _deliver(event, "chat_transcript")


# -- SLA notices: emailed in the transaction that delivers them (sla_notices_deliver),
# which reads the desk's people once for its whole batch.


def _sla_notice(event, send) -> None:
    people = event.live["people_cache"].setdefault("people", notifications.DeskPeople())
    send(event.live["ticket"], event.metric, datetime.fromisoformat(event.due_at), people)


@events.subscribe(SlaWarning, phase=events.IN_TRANSACTION)
def email_sla_warning(event: SlaWarning) -> None:
    _sla_notice(event, notifications.sla_warning)


@events.subscribe(SlaBreached, phase=events.IN_TRANSACTION)
def email_sla_breach(event: SlaBreached) -> None:
    _sla_notice(event, notifications.sla_breached)


@events.subscribe(SlaEscalated, phase=events.IN_TRANSACTION)
def email_sla_escalation(event: SlaEscalated) -> None:
    _sla_notice(event, notifications.sla_escalated)

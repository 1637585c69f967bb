"""Which ticket an email belongs to, by the Message-IDs of its thread.

Every email we send about a ticket gets a fresh, unguessable Message-ID, recorded
(`TicketEmailId`) in the transaction that queues it; so is the Message-ID of
every email we receive into a ticket. A reply names the mail it answers in
In-Reply-To and usually its ancestors in References, so any of those ids leads
back to the ticket, even from a mail client that kept neither our Reply-To token
nor our thread root.

Knowing an id is not permission: tickets/inbound.py still checks that the sender
may post into the ticket it leads to.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable

from django.conf import settings

from tickets.models import Ticket, TicketEmailId

MESSAGE_ID = re.compile(r"<[^<>\s]{1,253}>")
# References grows by one id per message of a thread; the newest few are plenty,
# and a hostile header naming thousands costs one bounded query.
MAX_REFERENCES = 50


def new_message_id() -> str:
    """A Message-ID nobody can guess (unlike email.utils.make_msgid's Mersenne Twister)."""
    return f"<{secrets.token_urlsafe(24)}@{settings.INBOUND_EMAIL_DOMAIN}>"


def referenced_ids(in_reply_to: str, references: str) -> list[str]:
    """The Message-IDs a mail answers, most likely parent first: In-Reply-To, then
    References from its newest (last) id back."""
    ids = MESSAGE_ID.findall(in_reply_to) + MESSAGE_ID.findall(references)[::-1]
    return list(dict.fromkeys(ids))[:MAX_REFERENCES]


def tickets_by_message_ids(message_ids: Iterable[str]) -> list[Ticket]:
    """The tickets (of the desk in scope) whose threads hold these ids, in the ids' order."""
    message_ids = list(message_ids)
    if not message_ids:
        return []
    found = dict(
        TicketEmailId.objects.filter(message_id__in=message_ids).values_list(
            "message_id", "ticket_id"
        )
    )
    ticket_ids = list(dict.fromkeys(found[i] for i in message_ids if i in found))
    tickets = Ticket.objects.in_bulk(ticket_ids)
    return [tickets[pk] for pk in ticket_ids if pk in tickets]


def sent_message_id_record(*, ticket: Ticket, message_id: str) -> None:
    """Remember a Message-ID we sent about `ticket` (again is harmless: a retried
    notification task finds its email queued under the id it had the first time)."""
    if not message_id:
        return
    TicketEmailId.objects.bulk_create(
        [
            TicketEmailId(
                tenant_id=ticket.tenant_id, ticket=ticket, message_id=message_id, sent=True
            )
        ],
        ignore_conflicts=True,
    )


def received_message_id_record(*, ticket: Ticket, message_id: str) -> None:
    """Remember the Message-ID of a mail received into `ticket`.

    Raises IntegrityError when the desk already has it: the same mail delivered
    twice at once, of which only the first may become a message.
    """
    if not message_id:
        return
    TicketEmailId.objects.create(
        tenant_id=ticket.tenant_id, ticket=ticket, message_id=message_id[:255], sent=False
    )


def message_id_known(message_id: str) -> TicketEmailId | None:
    """The record of this Message-ID in the desk in scope: received before, or our own."""
    if not message_id:
        return None
    return TicketEmailId.objects.filter(message_id=message_id[:255]).first()

"""Emails about tickets: who is told what, in their own language, threaded.

Every email about a ticket shares the thread root `<ticket-<slug>-<n>@domain>`
in In-Reply-To/References, so mail clients keep one conversation, and carries a
Reply-To with the ticket's secret token so a reply threads back into it.
Queued through the outbox: rendered now, delivered by a worker after commit.
"""

from __future__ import annotations

from email.utils import make_msgid
from typing import TYPE_CHECKING

from django.conf import settings
from django.urls import reverse
from django.utils import translation

from helpdesk.models import Membership, Role, User
from helpdesk.services import email_queue_template
from helpdesk.tenancy import tenant_url

if TYPE_CHECKING:
    from tickets.models import Message, Ticket


def thread_root_id(ticket: Ticket) -> str:
    return f"<ticket-{ticket.tenant.slug}-{ticket.number}@{settings.INBOUND_EMAIL_DOMAIN}>"


def reply_address(ticket: Ticket) -> str:
    return f"reply+{ticket.reply_token}@{settings.INBOUND_EMAIL_DOMAIN}"


def customer_url(ticket: Ticket) -> str:
    return tenant_url(ticket.tenant, reverse("hc_ticket_detail", args=[ticket.number]))


def agent_url(ticket: Ticket) -> str:
    return tenant_url(ticket.tenant, reverse("agent_ticket", args=[ticket.number]))


def _language(user: User, ticket: Ticket) -> str:
    return user.preferred_language or ticket.tenant.default_language


def _send(ticket: Ticket, recipients, template: str, **context) -> None:
    root = thread_root_id(ticket)
    for user in recipients:
        headers = {
            "Message-ID": make_msgid(f"t{ticket.number}", domain=settings.INBOUND_EMAIL_DOMAIN),
            "In-Reply-To": root,
            "References": root,
            "X-Helpdesk-Ticket": str(ticket.number),
        }
        with translation.override(_language(user, ticket)):
            email_queue_template(
                tenant=ticket.tenant,
                to=[user.email],
                template_prefix=f"tickets/email/{template}",
                context={
                    "ticket": ticket,
                    "recipient": user,
                    "customer_url": customer_url(ticket),
                    "agent_url": agent_url(ticket),
                    **context,
                },
                headers=headers,
                reply_to=[reply_address(ticket)],
            )


def _staff(exclude: User | None = None) -> list[User]:
    members = Membership.objects.filter(
        role__in=[Role.AGENT, Role.ADMIN], is_active=True
    ).select_related("user")
    return [m.user for m in members if m.user != exclude]


def _plan(ticket: Ticket):
    from plans.models import Plan

    if ticket.organization_id:
        return ticket.organization.plan
    return Plan.objects.order_by("rank").first()


def ticket_created(ticket: Ticket) -> None:
    _send(ticket, [ticket.requester], "acknowledgement", plan=_plan(ticket))
    _send(ticket, _staff(exclude=ticket.requester), "new_ticket", plan=_plan(ticket))


def agent_replied(ticket: Ticket, message: Message) -> None:
    _send(ticket, [ticket.requester], "agent_reply", message=message)


def customer_replied(ticket: Ticket, message: Message) -> None:
    recipients = [ticket.assignee] if ticket.assignee else _staff()
    _send(ticket, [u for u in recipients if u != message.author], "customer_reply", message=message)


def ticket_solved(ticket: Ticket) -> None:
    _send(ticket, [ticket.requester], "solved")


def ticket_assigned(ticket: Ticket) -> None:
    _send(ticket, [ticket.assignee], "assigned")

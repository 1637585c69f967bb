"""Emails about tickets: who is told what, in their own language, threaded.

Every email about a ticket shares the thread root `<ticket-<slug>-<n>@domain>`
in In-Reply-To/References, so mail clients keep one conversation, and carries a
Reply-To with a secret token of its own recipient for the ticket
(tickets/reply_tokens.py): a reply threads back into the ticket, and one from the
recipient's own address is proven to be theirs.

A ticket service publishes a domain event in its transaction (tickets/events.py);
tickets/subscribers.py hears it in a worker and renders the emails
(`deliver_ticket_event`) into the email outbox, which another task delivers. SLA
notices and surveys are rendered by the sweeps that make them.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction
from django.utils import translation

from helpdesk.models import Membership, OutboundEmail, Role, User
from helpdesk.outbox import outbox_handler
from helpdesk.services import email_queue_template
from tickets.email_threads import new_message_id, sent_message_id_record
from tickets.rendering import agent_url, customer_url, render_markdown
from tickets.reply_tokens import reply_address, reply_token_issue

if TYPE_CHECKING:
    from tickets.models import Ticket


def thread_root_id(ticket: Ticket) -> str:
    return f"<ticket-{ticket.tenant.slug}-{ticket.number}@{settings.INBOUND_EMAIL_DOMAIN}>"


def _language(user: User, ticket: Ticket) -> str:
    return user.preferred_language or ticket.tenant.default_language


def _send(
    ticket: Ticket,
    recipients,
    template: str,
    *,
    occurrence: str,
    folder: str = "tickets/email",
    **context,
) -> int:
    root = thread_root_id(ticket)
    queued = 0
    for user in recipients:
        headers = {
            "Message-ID": new_message_id(),
            "In-Reply-To": root,
            "References": root,
            "X-Helpdesk-Ticket": str(ticket.number),
        }
        dedupe_key = f"{occurrence}:{template}:{user.pk}"
        with translation.override(_language(user, ticket)), transaction.atomic():
            # A job run again finds its email queued, with the token it was given then.
            outbound = OutboundEmail.objects.filter(dedupe_key=dedupe_key).first()
            if outbound is None:
                # The recipient's own token, issued with their email: a reply to it
                # from their address is theirs, and no one else's can pass for it.
                token = reply_token_issue(ticket=ticket, user=user)
                outbound = email_queue_template(
                    tenant=ticket.tenant,
                    to=[user.email],
                    template_prefix=f"{folder}/{template}",
                    context={
                        "ticket": ticket,
                        "recipient": user,
                        "customer_url": customer_url(ticket),
                        "agent_url": agent_url(ticket),
                        **context,
                    },
                    headers=headers,
                    reply_to=[reply_address(token)],
                    dedupe_key=dedupe_key,
                )
            # Recorded with the email, so a reply naming only this id (In-Reply-To)
            # threads into the ticket; an email queued before keeps its first id.
            sent_message_id_record(ticket=ticket, message_id=outbound.headers.get("Message-ID", ""))
            queued += 1
    return queued


def rule_message(ticket: Ticket, recipients, *, subject: str, body: str, occurrence: str) -> int:
    """An email a rule (rules/) writes: its own subject and Markdown body, placeholders
    already filled in; threaded and answerable like every email about the ticket.
    `occurrence` names the firing, so a job run again queues nothing twice."""
    return _send(
        ticket,
        recipients,
        "rule",
        occurrence=occurrence,
        rule_subject=subject,
        rule_body=body,
        rule_body_html=render_markdown(body),
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


# -- SLA warnings and breaches: rendered by the sweep, in its transaction -----------------


def _sla_context(ticket: Ticket, metric: str, due) -> dict:
    from sla.models import Metric

    return {"metric": Metric(metric).label, "due": due, "plan": _plan(ticket)}


class DeskPeople:
    """The desk's agents and admins, read once for a batch of notices, not per notice."""

    @cached_property
    def staff(self) -> list[User]:
        return _staff()

    @cached_property
    def admins(self) -> list[User]:
        members = Membership.objects.filter(role=Role.ADMIN, is_active=True)
        return [m.user for m in members.select_related("user")]


def sla_warning(ticket: Ticket, metric: str, due, people: DeskPeople | None = None) -> int:
    """The assignee (or, for an unassigned ticket, every agent) hears a due time is near."""
    people = people or DeskPeople()
    recipients = [ticket.assignee] if ticket.assignee else people.staff
    return _send(
        ticket,
        recipients,
        "sla_warning",
        occurrence=f"sla-warning:{ticket.pk}:{metric}:{due.isoformat()}",
        **_sla_context(ticket, metric, due),
    )


def sla_breached(ticket: Ticket, metric: str, due, people: DeskPeople | None = None) -> int:
    """The assignee and the desk's admins hear a promise was broken."""
    admins = (people or DeskPeople()).admins
    recipients = list({user.pk: user for user in [ticket.assignee, *admins] if user}.values())
    return _send(
        ticket,
        recipients,
        "sla_breach",
        occurrence=f"sla-breach:{ticket.pk}:{metric}:{due.isoformat()}",
        **_sla_context(ticket, metric, due),
    )


def sla_escalated(ticket: Ticket, metric: str, due, people: DeskPeople | None = None) -> int:
    """The escalation agent a breached ticket was handed to hears it is theirs."""
    return _send(
        ticket,
        [ticket.assignee] if ticket.assignee else [],
        "assigned",
        occurrence=f"sla-escalated:{ticket.pk}:{metric}:{due.isoformat()}",
    )


# -- satisfaction surveys: queued by the feedback services in their transaction --------


def satisfaction_survey(ticket: Ticket, survey, links: dict) -> int:
    """The requester is asked to rate a solved ticket; the email joins its thread."""
    return _send(
        ticket,
        [survey.recipient],
        "csat",
        folder="feedback/email",
        occurrence=f"csat:{survey.pk}",
        survey=survey,
        **links,
    )


def bad_rating(ticket: Ticket, survey, people: DeskPeople | None = None) -> int:
    """The agent who solved the ticket (or its assignee) and the admins hear of a
    bad rating, once per survey however often it is changed."""
    admins = (people or DeskPeople()).admins
    agent = survey.agent or ticket.assignee
    recipients = list({user.pk: user for user in [agent, *admins] if user}.values())
    return _send(
        ticket,
        recipients,
        "bad_rating",
        folder="feedback/email",
        occurrence=f"csat-bad:{survey.pk}",
        survey=survey,
    )


# -- what the worker runs (tickets/subscribers.py calls it for each event) -----------------


# Still a handler of its own: jobs stored before events existed name it, and run.
@outbox_handler
def deliver_ticket_event(
    tenant, *, event: str, ticket_id: int, message_id: int | None, occurrence: str
) -> int:
    """Render and queue the emails of one ticket event; returns how many were new."""
    from tickets.models import Message, Ticket

    ticket = (
        Ticket.objects.select_related("tenant", "requester", "organization__plan", "assignee")
        .filter(pk=ticket_id)
        .first()
    )
    if ticket is None:
        return 0
    message = (
        Message.objects.select_related("author", "reviewed_by").filter(pk=message_id).first()
        if message_id
        else None
    )
    plan = _plan(ticket)
    plans = {
        "created": [
            ([ticket.requester], "acknowledgement"),
            (_staff(exclude=ticket.requester), "new_ticket"),
        ],
        "opened_for_customer": [
            ([ticket.requester], "opened_for_you"),
            (_staff(exclude=message.author if message else None), "new_ticket"),
        ],
        "agent_replied": [([ticket.requester], "agent_reply")],
        "customer_replied": [
            (
                [
                    u
                    for u in ([ticket.assignee] if ticket.assignee else _staff())
                    # Not its writer, nor the agent who published it after review.
                    if message is None or u not in (message.author, message.reviewed_by)
                ],
                "customer_reply",
            )
        ],
        "solved": [([ticket.requester], "solved")],
        "assigned": [([ticket.assignee] if ticket.assignee else [], "assigned")],
        # Agents only, and without the mail's text: whoever wrote it is unknown, and
        # the ticket page shows it with its verdict.
        "unverified_mail": [
            ([ticket.assignee] if ticket.assignee else _staff(), "unverified_mail")
        ],
        "chat_transcript": [([ticket.requester], "chat_transcript")],
    }[event]
    extra = {}
    if event == "chat_transcript":
        # What the customer saw: the public lines, never the agents' notes.
        extra["transcript"] = list(
            ticket.messages.filter(is_internal=False).select_related("author").order_by("pk")
        )
    sent = 0
    for recipients, template in plans:
        sent += _send(
            ticket,
            recipients,
            template,
            occurrence=occurrence,
            plan=plan,
            message=message,
            **extra,
        )
    return sent

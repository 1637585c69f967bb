"""Who wrote a mail: proven by the recipient's own reply token (or a customer's DMARC
pass), never by the From header. Everything else that reaches a ticket is an internal
note marked unverified, for an agent to review (docs/email.md, "Who wrote it")."""

import hashlib
import re

import pytest
from django.core import mail

from sla.models import SLAOutcome
from tests.tickets.factories import (
    OUR_MAIL_SERVER,
    authentication_results,
    make_ticket,
    refresh,
    reply_to,
)
from tests.tickets.test_inbound import raw_mail
from tickets.inbound import ingest_email
from tickets.models import (
    Message,
    ReplyToken,
    SenderCheck,
    SenderEvidence,
    Status,
    SuspendedEmail,
    Ticket,
    TicketEvent,
)
from tickets.notifications import thread_root_id

TOKEN_IN = re.compile(r"reply\+([^@]+)@")


@pytest.fixture
def dmarc_checked(settings):
    """Our receiving mail server is known: its Authentication-Results are believed."""
    settings.INBOUND_AUTHSERV_ID = [OUR_MAIL_SERVER]


def verdict(sender: str, dmarc: str, **kwargs) -> dict:
    return {"Authentication-Results": authentication_results(sender, dmarc, **kwargs)}


def ingest(desk, raw, commit_callbacks=None):
    with desk.scope():
        if commit_callbacks is None:
            return ingest_email(tenant=desk.tenant, raw=raw)
        with commit_callbacks(execute=True):
            return ingest_email(tenant=desk.tenant, raw=raw)


def last_message(desk, ticket) -> Message:
    with desk.scope():
        return Message.objects.filter(ticket=ticket).select_related("author").last()


def emails_to(user) -> list:
    return [email for email in mail.outbox if email.to == [user.email]]


def token_of(email) -> str:
    return TOKEN_IN.search(email.extra_headers["Reply-To"]).group(1)


def owner_of(desk, token: str):
    with desk.scope():
        digest = hashlib.sha256(token.encode()).hexdigest()
        row = ReplyToken.objects.select_related("user", "ticket").get(digest=digest)
    return row.ticket, row.user


@pytest.fixture
def ticket_with_emails(acme, django_capture_on_commit_callbacks):
    """A ticket whose acknowledgement (to the customer) and notices (to the agents)
    went out, and the tokens each of them was given (by user id; "ack": the
    acknowledgement's Message-ID). The outbox is emptied after."""
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        ticket = make_ticket(acme)
    tokens = {
        user.pk: token_of(emails_to(user)[0]) for user in (acme.customer, acme.agent, acme.admin)
    }
    tokens["ack"] = emails_to(acme.customer)[0].extra_headers["Message-ID"]
    mail.outbox.clear()
    return ticket, tokens


def assert_held_for_review(desk, ticket, result, *, sender, evidence):
    """The mail is an internal note with no author, marked unverified, and did
    nothing a reply does: no status change, no SLA response, no email to the customer."""
    assert (result.action, result.ticket_number, result.reason) == (
        "unverified",
        ticket.number,
        evidence,
    )
    note = last_message(desk, ticket)
    assert note.is_internal and note.author is None
    assert (note.email_from, note.sender_check, note.sender_evidence) == (
        sender,
        SenderCheck.UNVERIFIED,
        evidence,
    )
    assert note.awaits_review and note.review_key
    ticket = refresh(desk, ticket)
    assert ticket.status == Status.NEW
    assert ticket.first_agent_reply_at is None and ticket.first_response_seconds is None
    with desk.scope():
        assert not SLAOutcome.objects.filter(ticket=ticket).exists()
        event = TicketEvent.objects.filter(ticket=ticket).last()
    assert (event.kind, event.actor, event.old_value, event.new_value) == (
        TicketEvent.Kind.UNVERIFIED_MAIL,
        None,
        evidence,
        sender,
    )
    assert emails_to(desk.customer) == []
    customer_page = desk.client(desk.customer).get(f"/tickets/{ticket.number}/").content.decode()
    assert note.body not in customer_page
    return note


# -- tokens per recipient ------------------------------------------------------------------


def test_each_recipient_of_an_email_about_a_ticket_gets_a_token_of_their_own(
    acme, ticket_with_emails, django_capture_on_commit_callbacks
):
    ticket, tokens = ticket_with_emails
    people = (acme.customer, acme.agent, acme.admin)
    assert len({tokens[user.pk] for user in people}) == 3
    for user in people:
        token = tokens[user.pk]
        assert owner_of(acme, token) == (ticket, user)
        assert token != ticket.reply_token and len(token) == 32 and token == token.lower()
    with acme.scope():
        # Only digests are kept: the table does not hand out anyone's address.
        stored = set(ReplyToken.objects.values_list("digest", flat=True))
    assert not stored & {tokens[user.pk] for user in people}
    # The customer's next email (an agent's reply) carries a new token of hers.
    from tickets.services import ticket_reply

    mail.outbox.clear()
    with acme.scope(), django_capture_on_commit_callbacks(execute=True):
        ticket_reply(ticket=ticket, author=acme.agent, body="Which browser?")
    [reply] = emails_to(acme.customer)
    assert owner_of(acme, token_of(reply)) == (ticket, acme.customer)
    assert token_of(reply) != tokens[acme.customer.pk]


def test_an_email_queued_again_keeps_its_token_and_issues_none(
    acme, django_capture_on_commit_callbacks
):
    """A ticket event's job run twice finds its emails queued: no second token."""
    from helpdesk.models import OutboundEmail
    from tickets.notifications import deliver_ticket_event

    ticket = make_ticket(acme)
    with acme.scope():
        before = ReplyToken.objects.count()
        kwargs = {"event": "assigned", "ticket_id": ticket.pk, "message_id": None}
        Ticket.objects.filter(pk=ticket.pk).update(assignee=acme.agent)
        deliver_ticket_event(acme.tenant, occurrence="once", **kwargs)
        deliver_ticket_event(acme.tenant, occurrence="once", **kwargs)
        assert ReplyToken.objects.count() == before + 1
        assert OutboundEmail.objects.filter(dedupe_key__startswith="once:").count() == 1


def test_the_delivery_log_does_not_keep_the_token(acme, ticket_with_emails):
    from helpdesk.models import OutboundEmail

    _ticket, tokens = ticket_with_emails
    with acme.scope():
        logged = [e.headers.get("Reply-To", "") for e in OutboundEmail.objects.all()]
    assert logged and all(reply.startswith("reply+…@") for reply in logged)
    assert not any(tokens[key] in reply for reply in logged for key in tokens if key != "ack")


# -- who wrote it --------------------------------------------------------------------------


def test_the_customer_forging_the_agent_with_her_own_token_is_held_for_review(
    acme, ticket_with_emails, django_capture_on_commit_callbacks
):
    """The headline case: the customer who received the ticket's email answers it
    with `From:` the agent. Nothing reaches her as the agent's reply."""
    ticket, tokens = ticket_with_emails
    raw = raw_mail(
        acme.agent.email,
        "Refund approved, send your card number.",
        to=f"reply+{tokens[acme.customer.pk]}@localhost",
    )
    result = ingest(acme, raw, django_capture_on_commit_callbacks)
    note = assert_held_for_review(
        acme, ticket, result, sender=acme.agent.email, evidence=SenderEvidence.OTHERS_TOKEN
    )
    # The agents hear it waits, without its text (whoever wrote it is unknown).
    [notice] = emails_to(acme.admin)
    assert "Unverified mail to review" in notice.subject
    assert acme.agent.email in notice.body and "card number" not in notice.body
    # The agent's page names the From address, never the agent, as its writer.
    page = acme.client(acme.admin).get(f"/agent/tickets/{ticket.number}/").content.decode()
    item = re.search(rf'<li class="[^"]*" id="m{note.pk}">(.*?)</li>', page, re.S).group(1)
    assert f"<strong>{acme.agent.email}</strong>" in item
    assert acme.agent.display_name not in item


def test_a_stranger_with_a_forwarded_customer_token_is_held_for_review_not_suspended(
    acme, ticket_with_emails, django_capture_on_commit_callbacks
):
    ticket, tokens = ticket_with_emails
    raw = raw_mail(
        "friend@elsewhere.example",
        "Carol forwarded me this; I am her accountant.",
        to=f"reply+{tokens[acme.customer.pk]}@localhost",
    )
    result = ingest(acme, raw, django_capture_on_commit_callbacks)
    assert_held_for_review(
        acme,
        ticket,
        result,
        sender="friend@elsewhere.example",
        evidence=SenderEvidence.STRANGER,
    )
    with acme.scope():
        assert not SuspendedEmail.objects.exists()
    assert emails_to_address("friend@elsewhere.example") == []  # no "please sign up" reply


def emails_to_address(address: str) -> list:
    return [email for email in mail.outbox if address in email.to]


def test_an_agent_replying_from_their_own_address_to_their_own_token_answers_the_customer(
    acme, ticket_with_emails, django_capture_on_commit_callbacks
):
    ticket, tokens = ticket_with_emails
    raw = raw_mail(acme.agent.email, "We are on it.", to=f"reply+{tokens[acme.agent.pk]}@localhost")
    result = ingest(acme, raw, django_capture_on_commit_callbacks)
    assert (result.action, result.ticket_number) == ("replied", ticket.number)
    reply = last_message(acme, ticket)
    assert not reply.is_internal and reply.author == acme.agent
    assert (reply.sender_check, reply.sender_evidence) == (
        SenderCheck.VERIFIED,
        SenderEvidence.OWN_TOKEN,
    )
    ticket = refresh(acme, ticket)
    assert ticket.first_agent_reply_at is not None and ticket.status == Status.OPEN
    [to_customer] = emails_to(acme.customer)
    assert "We are on it." in to_customer.body


def test_the_token_is_read_whatever_case_the_mail_system_wrote_it_in(acme, ticket_with_emails):
    ticket, tokens = ticket_with_emails
    address = f"REPLY+{tokens[acme.customer.pk].upper()}@LOCALHOST"
    result = ingest(acme, raw_mail(acme.customer.email, "Shouting mail server", to=address))
    assert (result.action, result.ticket_number) == ("replied", ticket.number)


@pytest.mark.parametrize("holder", ["agent", "admin"])
def test_an_agents_token_with_someone_elses_from_is_held_for_review(
    acme, ticket_with_emails, holder
):
    """The customer (or a colleague) got hold of an agent's notice and answers it."""
    ticket, tokens = ticket_with_emails
    raw = raw_mail(
        acme.customer.email,
        "Close this as solved.",
        to=f"reply+{tokens[getattr(acme, holder).pk]}@localhost",
    )
    assert_held_for_review(
        acme,
        ticket,
        ingest(acme, raw),
        sender=acme.customer.email,
        evidence=SenderEvidence.OTHERS_TOKEN,
    )


@pytest.mark.parametrize("threaded_by", ["in_reply_to", "thread_root", "ticket_token"])
def test_an_agents_from_threaded_without_their_own_token_is_held_for_review(
    acme, ticket_with_emails, dmarc_checked, threaded_by
):
    """Message-IDs, the thread root and the ticket's own token say which ticket,
    not who wrote it; even a DMARC pass for the agents' domain cannot tell one
    colleague (or anyone who can send from it) from another."""
    ticket, tokens = ticket_with_emails
    headers = verdict(acme.agent.email, "pass")
    to = "support@acme.localhost"
    if threaded_by == "in_reply_to":
        headers["In-Reply-To"] = tokens["ack"]
    elif threaded_by == "thread_root":
        headers["References"] = thread_root_id(ticket)
    else:
        to = f"reply+{ticket.reply_token}@localhost"
    raw = raw_mail(acme.agent.email, "Refund approved.", to=to, headers=headers)
    assert_held_for_review(
        acme, ticket, ingest(acme, raw), sender=acme.agent.email, evidence=SenderEvidence.NO_TOKEN
    )


def test_a_customers_own_token_with_a_dmarc_fail_is_held_for_review(
    acme, ticket_with_emails, dmarc_checked
):
    ticket, tokens = ticket_with_emails
    raw = raw_mail(
        acme.customer.email,
        "Please change my email address.",
        to=f"reply+{tokens[acme.customer.pk]}@localhost",
        headers=verdict(acme.customer.email, "fail"),
    )
    note = assert_held_for_review(
        acme,
        ticket,
        ingest(acme, raw),
        sender=acme.customer.email,
        evidence=SenderEvidence.DMARC_FAIL,
    )
    assert note.email_authentication == {"dmarc": "fail", "spf": "pass"}


def test_another_customer_with_the_requesters_token_is_held_for_review(acme, ticket_with_emails):
    ticket, tokens = ticket_with_emails
    raw = raw_mail(
        acme.other_customer.email, "Let me in", to=f"reply+{tokens[acme.customer.pk]}@localhost"
    )
    assert_held_for_review(
        acme,
        ticket,
        ingest(acme, raw),
        sender=acme.other_customer.email,
        evidence=SenderEvidence.OTHERS_TOKEN,
    )


def test_a_token_of_another_desk_names_nothing_here(acme, globex):
    theirs = make_ticket(globex)
    raw = raw_mail(acme.customer.email, "Hello", to=reply_to(globex, theirs, globex.customer))
    result = ingest(acme, raw)
    assert result.action == "created"
    assert last_message(globex, theirs).body == "It shows nothing."


# -- a customer's mail without her token: her DMARC pass, or a note ------------------------


def _customer_mail_by_message_id(acme, ticket, **headers):
    root = {"References": thread_root_id(ticket)}
    return raw_mail(acme.customer.email, "Any news?", headers={**root, **headers})


def test_a_customers_mail_by_message_id_with_a_dmarc_pass_is_her_reply(
    acme, dmarc_checked, django_capture_on_commit_callbacks
):
    ticket = make_ticket(acme)
    raw = _customer_mail_by_message_id(acme, ticket, **verdict(acme.customer.email, "pass"))
    result = ingest(acme, raw, django_capture_on_commit_callbacks)
    assert (result.action, result.ticket_number) == ("replied", ticket.number)
    reply = last_message(acme, ticket)
    assert (reply.is_internal, reply.author, reply.sender_check, reply.sender_evidence) == (
        False,
        acme.customer,
        SenderCheck.VERIFIED,
        SenderEvidence.DMARC_PASS,
    )
    assert reply.email_authentication == {"dmarc": "pass", "spf": "pass"}


@pytest.mark.parametrize(
    ("server_known", "headers", "evidence"),
    [
        # No receiving server configured: no verdict is read at all.
        (False, lambda sender: verdict(sender, "pass"), SenderEvidence.NO_TOKEN),
        (True, lambda sender: {}, SenderEvidence.NO_TOKEN),
        (True, lambda sender: verdict(sender, "none"), SenderEvidence.NO_TOKEN),
        (True, lambda sender: verdict(sender, "fail"), SenderEvidence.DMARC_FAIL),
        # Written by someone else's server, or by the sender: not ours, not believed.
        (True, lambda s: verdict(s, "pass", server="mx.evil.example"), SenderEvidence.NO_TOKEN),
    ],
    ids=["no-server-configured", "no-header", "dmarc-none", "dmarc-fail", "foreign-header"],
)
def test_a_customers_mail_by_message_id_without_a_dmarc_pass_is_held_for_review(
    acme, settings, server_known, headers, evidence
):
    if server_known:
        settings.INBOUND_AUTHSERV_ID = [OUR_MAIL_SERVER]
    ticket = make_ticket(acme)
    raw = _customer_mail_by_message_id(acme, ticket, **headers(acme.customer.email))
    assert_held_for_review(
        acme, ticket, ingest(acme, raw), sender=acme.customer.email, evidence=evidence
    )


def test_a_redelivered_unverified_mail_is_held_once(acme, ticket_with_emails):
    ticket, tokens = ticket_with_emails
    raw = raw_mail(acme.agent.email, "Forged", to=f"reply+{tokens[acme.customer.pk]}@localhost")
    assert ingest(acme, raw).action == "unverified"
    assert ingest(acme, raw).action == "ignored"
    with acme.scope():
        assert Message.objects.filter(ticket=ticket, is_internal=True).count() == 1


# -- new tickets by mail -------------------------------------------------------------------


def test_a_new_mail_from_a_member_opens_a_ticket_with_the_verdict_recorded(acme, dmarc_checked):
    plain = ingest(acme, raw_mail(acme.customer.email, "No verdict", subject="Plain"))
    signed = ingest(
        acme,
        raw_mail(
            acme.customer.email,
            "Signed",
            subject="Signed",
            headers=verdict(acme.customer.email, "pass"),
        ),
    )
    assert plain.action == signed.action == "created"
    with acme.scope():
        first = Ticket.objects.get(number=plain.ticket_number).messages.get()
        second = Ticket.objects.get(number=signed.ticket_number).messages.get()
    assert (first.sender_check, first.sender_evidence, first.is_internal) == (
        SenderCheck.UNCONFIRMED,
        SenderEvidence.NO_PROOF,
        False,
    )
    assert (second.sender_check, second.sender_evidence) == (
        SenderCheck.VERIFIED,
        SenderEvidence.DMARC_PASS,
    )
    assert second.email_authentication == {"dmarc": "pass", "spf": "pass"}
    assert first.email_from == second.email_from == acme.customer.email


def test_a_new_mail_whose_dmarc_fails_is_suspended_not_a_ticket(acme, dmarc_checked):
    raw = raw_mail(
        acme.customer.email,
        "Forged",
        subject="Forged",
        headers=verdict(acme.customer.email, "fail"),
    )
    result = ingest(acme, raw)
    assert (result.action, result.reason) == ("suspended", SuspendedEmail.Reason.DMARC_FAIL)
    with acme.scope():
        assert not Ticket.objects.exists()
        kept = SuspendedEmail.objects.get()
    assert kept.expires_at is None  # a member's mail waits for an admin
    assert "DMARC" in kept.error


# -- the gateway's answer, and suspended mail retried ------------------------------------


def test_the_endpoint_answers_unverified_with_the_ticket_and_why(acme, ticket_with_emails):
    from tests.tickets.test_inbound import _post

    ticket, tokens = ticket_with_emails
    raw = raw_mail(acme.agent.email, "Forged", to=f"reply+{tokens[acme.customer.pk]}@localhost")
    response = _post(acme, raw)
    assert response.status_code == 200
    assert response.json() == {
        "action": "unverified",
        "ticket": ticket.number,
        "reason": "others_token",
        "detail": "",
    }


def test_suspended_mail_retried_into_an_unverified_note_says_so(acme, dmarc_checked):
    """A stranger's mail naming a ticket's thread is suspended; once they are a member
    (of the ticket's organization), the retry threads it, and without proof of the
    sender it is a note to review."""
    from django.urls import reverse

    from helpdesk.models import Role
    from tests.helpdesk.factories import make_member

    ticket = make_ticket(acme)
    raw = raw_mail("dana@acme-co.example", "Me too", headers={"References": thread_root_id(ticket)})
    assert ingest(acme, raw).reason == SuspendedEmail.Reason.UNKNOWN_SENDER
    with acme.scope():
        suspended = SuspendedEmail.objects.get()
    dana = make_member(acme.tenant, "dana@acme-co.example", Role.CUSTOMER, organization=acme.org)
    with acme.scope():
        from helpdesk.models import Membership

        Membership.objects.filter(user=dana).update(is_org_manager=True)
    response = acme.client(acme.admin).post(
        reverse("admin:tickets_suspendedemail_retry", args=[suspended.pk]), follow=True
    )
    link = f'<a href="/agent/tickets/{ticket.number}/">#{ticket.number}</a>'
    assert (
        f"“Help” was added to ticket {link} as an unverified note to review."
        in response.content.decode()
    )
    note = last_message(acme, ticket)
    assert (note.is_internal, note.email_from, note.sender_evidence) == (
        True,
        "dana@acme-co.example",
        SenderEvidence.NO_TOKEN,
    )

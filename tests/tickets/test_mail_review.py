"""What agents see of a mail's sender, and their review of unverified mail: publish
it as the reply of the customer its From names, or keep it a note."""

import re
import uuid

import pytest
from django.core import mail

from tests.access import assert_asked_to_sign_in
from tests.tickets.factories import (
    OUR_MAIL_SERVER,
    authentication_results,
    make_ticket,
    refresh,
    reply_to,
    set_fields,
)
from tests.tickets.test_inbound import raw_mail
from tickets.inbound import ingest_email
from tickets.models import Message, SenderEvidence, Status, Ticket, TicketEvent
from tickets.notifications import thread_root_id
from tickets.services import ticket_reply


def ingest(desk, raw):
    with desk.scope():
        return ingest_email(tenant=desk.tenant, raw=raw)


def held(desk, ticket, sender, body, **headers) -> Message:
    """`sender`'s mail, threaded into `ticket` by its thread root only: unverified."""
    raw = raw_mail(sender, body, headers={"References": thread_root_id(ticket), **headers})
    result = ingest(desk, raw)
    assert result.action == "unverified", result
    with desk.scope():
        return Message.objects.get(ticket=ticket, body=body)


def page_of(desk, ticket, user=None, **extra) -> str:
    client = desk.client(user or desk.agent)
    return client.get(f"/agent/tickets/{ticket.number}/", **extra).content.decode()


def item_of(page: str, message) -> str:
    found = re.search(rf'<li class="[^"]*" id="m{message.pk}">(.*?)</li>', page, re.S)
    assert found, f"message {message.pk} is not on the page"
    return found.group(1)


def review(desk, ticket, message, decision="publish", user=None, **extra):
    return desk.client(user or desk.agent).post(
        f"/agent/tickets/{ticket.number}/mail/{message.review_key}/review/",
        {"decision": decision},
        **extra,
    )


def reloaded(desk, message) -> Message:
    with desk.scope():
        return Message.objects.select_related("author", "reviewed_by").get(pk=message.pk)


@pytest.fixture
def threads(acme, settings):
    """A ticket with a mail of each kind: the customer's own, a new ticket's first mail,
    one with a DMARC fail and one forged as the agent."""
    settings.INBOUND_AUTHSERV_ID = [OUR_MAIL_SERVER]
    created = ingest(acme, raw_mail(acme.customer.email, "Export is broken", subject="Export"))
    with acme.scope():
        ticket = Ticket.objects.get(number=created.ticket_number)
    ingest(
        acme, raw_mail(acme.customer.email, "Own token", to=reply_to(acme, ticket, acme.customer))
    )
    failed = held(
        acme,
        ticket,
        acme.customer.email,
        "DMARC failed",
        **{"Authentication-Results": authentication_results(acme.customer.email, "fail")},
    )
    forged = held(acme, ticket, acme.agent.email, "Forged agent")
    return ticket, failed, forged


def test_the_agent_page_says_what_is_known_of_each_mails_sender(acme, threads):
    ticket, failed, forged = threads
    page = page_of(acme, ticket)
    with acme.scope():
        first, own, *_ = Message.objects.filter(ticket=ticket).order_by("pk")
    assert (
        '<span class="badge sender sender-unconfirmed" title="no reply address, no DMARC result">'
        "Sender not confirmed</span>" in item_of(page, first)
    )
    assert (
        '<span class="badge sender sender-verified" title="sent to their own reply address">'
        "Verified sender</span>" in item_of(page, own)
    )
    failed_item = item_of(page, failed)
    assert "Unverified: sender could not be confirmed (DMARC fail)" in failed_item
    assert "dmarc=fail · spf=pass" in failed_item
    forged_item = item_of(page, forged)
    assert (
        "Unverified: sender could not be confirmed (not sent to their own reply address)"
        in forged_item
    )
    assert '<span class="badge note">Internal note</span>' in forged_item
    # The customer is shown her thread, without any of it.
    customer_page = acme.client(acme.customer).get(f"/tickets/{ticket.number}/").content.decode()
    assert "Own token" in customer_page and "Forged agent" not in customer_page
    assert "DMARC failed" not in customer_page
    assert "sender-" not in customer_page and "Verified sender" not in customer_page


def test_the_badges_and_the_review_are_in_chinese_for_a_chinese_agent(acme, threads):
    ticket, failed, forged = threads
    page = page_of(acme, ticket, HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9")
    assert "发件人已验证" in page
    assert "发件人未确认" in page
    assert "未验证：无法确认发件人（DMARC 验证失败）" in item_of(page, failed)
    assert "未验证：无法确认发件人（未发送到其本人的回复地址）" in item_of(page, forged)
    assert "作为 Carol Customer 的回复发布" in item_of(page, failed)
    assert "保留为备注" in item_of(page, forged)
    assert "Verified sender" not in page and "Unverified" not in page


def test_an_agent_publishes_a_customers_unverified_mail_as_her_reply(
    acme, threads, django_capture_on_commit_callbacks
):
    ticket, failed, _forged = threads
    with acme.scope():
        ticket_reply(ticket=ticket, author=acme.agent, body="Which file?", status=Status.PENDING)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = review(acme, ticket, failed, "publish")
    assert response.status_code == 302
    assert response["Location"] == f"/agent/tickets/{ticket.number}/#m{failed.pk}"
    message = reloaded(acme, failed)
    assert not message.is_internal and message.author == acme.customer
    assert message.reviewed_by == acme.agent and message.reviewed_at
    # Now her reply, as if it had just come: the ticket opens, the clock runs.
    ticket = refresh(acme, ticket)
    assert ticket.status == Status.OPEN and ticket.next_response_due_at is not None
    with acme.scope():
        event = TicketEvent.objects.filter(kind=TicketEvent.Kind.MAIL_PUBLISHED).get()
    assert (event.actor, event.new_value) == (acme.agent, acme.customer.email)
    assert [m.to for m in mail.outbox if "Customer replied" in m.subject] == [[acme.admin.email]]
    customer_page = acme.client(acme.customer).get(f"/tickets/{ticket.number}/").content.decode()
    assert "DMARC failed" in customer_page
    page = review(acme, ticket, failed, "keep", follow=True).content.decode()
    assert "This mail has already been reviewed." in page  # the decision was made once
    assert "Published as the customer&#x27;s reply by Acme Analytics Agent" in item_of(page, failed)
    assert "published unverified mail as the customer&#x27;s reply" in page


def test_an_agent_keeps_unverified_mail_as_a_note(
    acme, threads, django_capture_on_commit_callbacks
):
    ticket, failed, _forged = threads
    mail.outbox.clear()
    client = acme.client(acme.admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/agent/tickets/{ticket.number}/mail/{failed.review_key}/review/", {"decision": "keep"}
        )
    assert response.status_code == 302
    assert "Kept as a note." in client.get(response["Location"]).content.decode()
    message = reloaded(acme, failed)
    assert message.is_internal and message.author is None
    assert message.reviewed_by == acme.admin
    assert mail.outbox == []
    page = page_of(acme, ticket)
    assert "Kept as a note by Acme Analytics Admin" in item_of(page, failed)
    assert 'name="decision"' not in item_of(page, failed)
    with acme.scope():
        assert TicketEvent.objects.filter(
            kind=TicketEvent.Kind.MAIL_KEPT, actor=acme.admin
        ).exists()


@pytest.mark.parametrize("sender", ["agent", "admin", "stranger"])
def test_mail_claiming_an_agent_or_a_stranger_cannot_be_published_as_anyones_reply(acme, sender):
    """The author is the customer the From names, worked out by the server: mail
    claiming to be a colleague's (or a stranger's) can only stay a note."""
    ticket = make_ticket(acme)
    address = "friend@elsewhere.example" if sender == "stranger" else getattr(acme, sender).email
    if sender == "stranger":
        token = reply_to(acme, ticket, acme.customer)
        ingest(acme, raw_mail(address, "Forwarded to me", to=token))
        with acme.scope():
            note = Message.objects.get(ticket=ticket, is_internal=True)
    else:
        note = held(acme, ticket, address, "Claims to be staff")
    item = item_of(page_of(acme, ticket), note)
    assert 'value="publish"' not in item and 'value="keep"' in item
    assert f"It can only stay a note: {address} is not a customer who can see this ticket." in item
    response = review(acme, ticket, note, "publish")
    assert response.status_code == 400
    assert (
        "Only mail from a customer who can see this ticket can be published as their reply."
        in response.content.decode()
    )
    after = reloaded(acme, note)
    assert after.is_internal and after.author is None and after.reviewed_at is None


def test_mail_of_a_customer_who_cannot_see_the_ticket_cannot_be_published(acme):
    """Oscar (another organization) answered with Carol's reply address."""
    ticket = make_ticket(acme)
    raw = raw_mail(
        acme.other_customer.email, "Not my ticket", to=reply_to(acme, ticket, acme.customer)
    )
    assert ingest(acme, raw).reason == SenderEvidence.OTHERS_TOKEN
    with acme.scope():
        note = Message.objects.get(ticket=ticket, is_internal=True)
    assert review(acme, ticket, note, "publish").status_code == 400
    _untouched(acme, note)


def test_unverified_mail_is_reviewed_once(acme, threads):
    ticket, failed, _forged = threads
    assert review(acme, ticket, failed, "keep").status_code == 302
    for decision in ("publish", "keep"):
        response = review(acme, ticket, failed, decision, user=acme.admin)
        assert response.status_code == 400
        assert "This mail has already been reviewed." in response.content.decode()
    assert reloaded(acme, failed).is_internal


def test_a_closed_tickets_mail_cannot_be_published(acme, threads):
    ticket, failed, _forged = threads
    set_fields(acme, ticket, status=Status.CLOSED)
    response = review(acme, ticket, failed, "publish")
    assert response.status_code == 400
    assert reloaded(acme, failed).is_internal


def test_the_audit_trail_records_the_unverified_mail_and_why(acme, threads):
    ticket, _failed, forged = threads
    page = page_of(acme, ticket)
    assert (
        "<strong>System</strong> received mail from an unconfirmed sender: "
        f"{acme.agent.email} (not sent to their own reply address)"
    ) in page


# -- the access matrix -----------------------------------------------------------------


@pytest.fixture
def pending(acme):
    ticket = make_ticket(acme, subject="Acme-only dashboard question")
    return ticket, held(acme, ticket, acme.customer.email, "Please review me")


def _untouched(desk, message):
    message = reloaded(desk, message)
    assert message.is_internal and message.reviewed_at is None and message.author is None


def test_anonymous_visitors_are_sent_to_log_in(acme, pending):
    ticket, note = pending
    response = acme.client().post(
        f"/agent/tickets/{ticket.number}/mail/{note.review_key}/review/", {"decision": "publish"}
    )
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    _untouched(acme, note)


def test_the_customer_herself_cannot_publish_her_mail(acme, pending):
    ticket, note = pending
    response = review(acme, ticket, note, "publish", user=acme.customer)
    assert response.status_code == 403
    assert "This page is not for your role" in response.content.decode()
    _untouched(acme, note)


@pytest.mark.parametrize("persona", ["agent", "admin", "customer"])
def test_people_of_another_desk_are_asked_to_sign_in(acme, globex, pending, persona):
    ticket, note = pending
    response = review(acme, ticket, note, "publish", user=getattr(globex, persona))
    assert_asked_to_sign_in(response)
    assert "Please review me" not in response.content.decode()
    _untouched(acme, note)


def test_another_desks_agent_on_their_own_desk_finds_nothing(acme, globex, pending):
    """Globex has a ticket with the same number; the key is Acme's."""
    ticket, note = pending
    make_ticket(globex)
    response = review(globex, ticket, note, "publish", user=globex.agent)
    assert response.status_code == 404
    _untouched(acme, note)


def test_a_key_of_another_tickets_mail_or_no_mail_is_404(acme, pending):
    ticket, note = pending
    other = make_ticket(acme, subject="Another")
    wrong_ticket = acme.client(acme.agent).post(
        f"/agent/tickets/{other.number}/mail/{note.review_key}/review/", {"decision": "publish"}
    )
    unknown_key = acme.client(acme.agent).post(
        f"/agent/tickets/{ticket.number}/mail/{uuid.uuid4()}/review/", {"decision": "publish"}
    )
    assert wrong_ticket.status_code == unknown_key.status_code == 404
    _untouched(acme, note)


def test_a_get_is_405(acme, pending):
    ticket, note = pending
    response = acme.client(acme.agent).get(
        f"/agent/tickets/{ticket.number}/mail/{note.review_key}/review/"
    )
    assert response.status_code == 405
    _untouched(acme, note)


@pytest.mark.parametrize("decision", ["", "delete", "publish-as-agent"])
def test_a_decision_that_is_neither_is_refused_in_place(acme, pending, decision):
    ticket, note = pending
    response = review(acme, ticket, note, decision)
    assert response.status_code == 400
    page = response.content.decode()
    assert "Acme-only dashboard question" in page  # still the ticket page
    assert (
        "Choose to publish the mail or keep it as a note." in page
        or "Select a valid choice." in page
    )
    _untouched(acme, note)

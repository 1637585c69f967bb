"""Email in: threading, new tickets, unknown senders, loop guards and bad mail."""

import base64
import mailbox
from email.message import EmailMessage

import pytest
from django.core import mail
from django.test import Client

from tests.tickets.factories import OUR_MAIL_SERVER, authentication_results, make_ticket, reply_to
from tickets.email_parsing import strip_quoted
from tickets.inbound import ingest_email
from tickets.models import Channel, Message, Status, SuspendedEmail, Ticket
from tickets.notifications import thread_root_id
from tickets.services import ticket_solve


def raw_mail(
    sender,
    body="Hello",
    *,
    subject="Help",
    to="support@acme.localhost",
    headers=None,
    attachments=(),
    html=None,
    message_id=None,
):
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = message_id or f"<{abs(hash((sender, body, subject)))}@client.example>"
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(body)
    if html:
        message.add_alternative(html, subtype="html")
    for name, content, mimetype in attachments:
        maintype, subtype = mimetype.split("/")
        message.add_attachment(content, maintype=maintype, subtype=subtype, filename=name)
    return message.as_bytes()


@pytest.fixture
def dmarc_checked(settings):
    """Our receiving mail server is known: its DMARC verdicts are believed."""
    settings.INBOUND_AUTHSERV_ID = [OUR_MAIL_SERVER]


def dmarc_pass(sender: str) -> dict:
    return {"Authentication-Results": authentication_results(sender, "pass")}


def ingest(desk, raw):
    with desk.scope():
        return ingest_email(tenant=desk.tenant, raw=raw)


def _bodies(desk, ticket):
    with desk.scope():
        return list(Message.objects.filter(ticket=ticket).values_list("body", flat=True))


REPLY = """Thanks, that fixed it.

On Mon, 23 Nov 2026 at 10:00, Acme Analytics Support <support@acme.localhost> wrote:
> We cleared the cache.
> Reply above this line
"""


def test_reply_threads_by_the_reply_to_token_without_the_quoted_history(acme):
    ticket = make_ticket(acme)
    result = ingest(
        acme,
        raw_mail(
            acme.customer.email,
            REPLY,
            subject=f"Re: [#{ticket.number}]",
            to=reply_to(acme, ticket, acme.customer),
        ),
    )
    assert (result.action, result.ticket_number) == ("replied", ticket.number)
    assert _bodies(acme, ticket)[-1] == "Thanks, that fixed it."
    with acme.scope():
        assert Message.objects.filter(ticket=ticket).last().channel == Channel.EMAIL


def test_reply_threads_by_headers_when_the_token_is_gone(acme, dmarc_checked):
    ticket = make_ticket(acme)
    raw = raw_mail(
        acme.customer.email,
        "还是不行。\n\n在 2026年11月23日 10:00，客服 写道：\n> 旧内容",
        subject="回复: 问题",
        headers={"References": thread_root_id(ticket), **dmarc_pass(acme.customer.email)},
    )
    assert ingest(acme, raw).action == "replied"
    assert _bodies(acme, ticket)[-1] == "还是不行。"


def test_a_reply_to_a_solved_ticket_reopens_it(acme):
    ticket = make_ticket(acme)
    with acme.scope():
        ticket_solve(ticket=ticket, actor=acme.agent)
    ingest(
        acme,
        raw_mail(
            acme.customer.email, "Not fixed after all", to=reply_to(acme, ticket, acme.customer)
        ),
    )
    with acme.scope():
        ticket.refresh_from_db()
    assert ticket.status == Status.OPEN


def test_a_new_email_from_a_customer_opens_a_ticket_with_its_attachments(
    acme, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        result = ingest(
            acme,
            raw_mail(
                acme.customer.email,
                "The export fails.",
                subject="Fwd: Re: Export broken",
                attachments=[
                    ("log.txt", b"trace", "text/plain"),
                    ("evil.exe", b"MZ", "application/octet-stream"),
                ],
            ),
        )
    assert result.action == "created"
    with acme.scope():
        ticket = Ticket.objects.get(number=result.ticket_number)
        message = ticket.messages.get()
        assert [a.name for a in message.attachments.all()] == ["log.txt"]
    assert ticket.subject == "Export broken" and ticket.channel == Channel.EMAIL
    assert "evil.exe" in message.body and "do not accept" in message.body
    assert any(
        m.to == [acme.customer.email] and "We received your request" in m.subject
        for m in mail.outbox
    )


def test_an_unknown_sender_gets_one_polite_reply_and_no_ticket(
    acme, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        for body in ["Hi", "Hi again"]:
            result = ingest(acme, raw_mail("stranger@nowhere.example", body))
            assert (result.action, result.reason) == ("suspended", "unknown_sender")
    with acme.scope():
        assert not Ticket.objects.exists()
        # Both kept for the admins (tests/tickets/test_suspended_mail.py), one answer.
        assert SuspendedEmail.objects.filter(sender="stranger@nowhere.example").count() == 2
    replies = [m for m in mail.outbox if m.to == ["stranger@nowhere.example"]]
    assert len(replies) == 1
    assert "http://acme.localhost/accounts/signup/" in replies[0].body or (
        "://acme.localhost/accounts/signup/" in replies[0].body
    )
    assert replies[0].extra_headers["Auto-Submitted"] == "auto-replied"


@pytest.mark.parametrize(
    "headers,sender",
    [
        ({"Auto-Submitted": "auto-replied"}, None),
        ({"Precedence": "bulk"}, None),
        ({"X-Autoreply": "yes"}, None),
        ({"Return-Path": "<>"}, None),
        ({}, "MAILER-DAEMON@mx.example"),
        ({}, "no-reply@service.example"),
    ],
)
def test_automatic_mail_is_ignored_so_nothing_loops(
    acme, headers, sender, django_capture_on_commit_callbacks
):
    ticket = make_ticket(acme)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        result = ingest(
            acme,
            raw_mail(
                sender or acme.customer.email,
                "Out of office",
                to=f"reply+{ticket.reply_token}@localhost",
                headers=headers,
            ),
        )
    assert result.action == "ignored"
    assert len(_bodies(acme, ticket)) == 1
    assert mail.outbox == []


def test_the_same_message_delivered_twice_is_ingested_once(acme):
    raw = raw_mail(acme.customer.email, "Only once please", subject="Duplicate delivery")
    assert ingest(acme, raw).action == "created"
    assert ingest(acme, raw).action == "ignored"
    with acme.scope():
        assert Ticket.objects.filter(subject="Duplicate delivery").count() == 1


def test_html_only_mail_is_sanitized(acme):
    message = EmailMessage()
    message["From"] = acme.customer.email
    message["Subject"] = "HTML only"
    message.set_content(
        "<p>Hi <b>team</b><script>alert(1)</script><img src=x onerror=alert(1)></p>", subtype="html"
    )
    result = ingest(acme, message.as_bytes())
    with acme.scope():
        html = Ticket.objects.get(number=result.ticket_number).messages.get().body_html
    assert "Hi team" in html and "<script" not in html and "onerror" not in html


def test_a_token_of_another_tenants_ticket_does_not_thread_across_tenants(acme, globex):
    theirs = make_ticket(globex)
    result = ingest(
        acme,
        raw_mail(
            acme.customer.email,
            "Hello",
            to=f"reply+{theirs.reply_token}@localhost",
            headers={"References": thread_root_id(theirs)},
        ),
    )
    assert result.action == "created"
    assert len(_bodies(globex, theirs)) == 1


def test_a_customer_cannot_post_into_another_organizations_ticket_by_token(acme):
    ticket = make_ticket(acme)
    result = ingest(
        acme,
        raw_mail(
            acme.other_customer.email, "Let me in", to=f"reply+{ticket.reply_token}@localhost"
        ),
    )
    assert result.action == "created" and result.ticket_number != ticket.number
    assert len(_bodies(acme, ticket)) == 1


def test_an_agent_reply_by_email_answers_the_customer(acme):
    ticket = make_ticket(acme)
    ingest(
        acme,
        raw_mail(acme.agent.email, "We are on it.", to=reply_to(acme, ticket, acme.agent)),
    )
    with acme.scope():
        ticket.refresh_from_db()
    assert ticket.first_agent_reply_at is not None and ticket.status == Status.OPEN


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"\x00\xff\xfe garbage",
        b"From: \nSubject: no sender\n\nbody",
        (
            b"From: carol@acme-co.example\nContent-Type: multipart/mixed; boundary=x\n\n"
            b"--x\nContent-Type: text/plain; charset=bogus-charset\n\n\xff\xfe\n--x"
        ),
    ],
)
def test_malformed_mail_is_kept_and_the_endpoint_never_500s(acme, raw):
    response = Client(HTTP_HOST=acme.host).post(
        "/inbound/email/",
        raw,
        content_type="message/rfc822",
        HTTP_X_INBOUND_SECRET=acme.tenant.inbound_email_secret,
    )
    assert response.status_code == 200
    assert response.json()["action"] == "suspended"
    assert response.json()["reason"] == "unparseable"
    with acme.scope():
        assert bytes(SuspendedEmail.objects.get().raw) == raw


def test_endpoint_requires_the_tenants_own_secret(acme, globex):
    raw = raw_mail(acme.customer.email, "Via the gateway", subject="Gateway")
    client = Client(HTTP_HOST=acme.host)
    assert client.post("/inbound/email/", raw, content_type="message/rfc822").status_code == 403
    wrong = client.post(
        "/inbound/email/",
        raw,
        content_type="message/rfc822",
        HTTP_X_INBOUND_SECRET=globex.tenant.inbound_email_secret,
    )
    assert wrong.status_code == 403
    ok = client.post(
        "/inbound/email/",
        raw,
        content_type="message/rfc822",
        HTTP_X_INBOUND_SECRET=acme.tenant.inbound_email_secret,
    )
    assert ok.status_code == 200 and ok.json()["action"] == "created"
    assert client.get("/inbound/email/").status_code == 405


def test_strip_quoted_keeps_the_new_text():
    assert strip_quoted("Yes.\n\n-----Original Message-----\nFrom: x") == "Yes."
    assert strip_quoted("Sure\n> old\n> older\n") == "Sure"


def test_ingest_mail_reads_a_maildir_once_and_an_mbox(acme, tmp_path):
    from django.core.management import call_command

    box = mailbox.Maildir(tmp_path / "Maildir")
    box.add(raw_mail(acme.customer.email, "From the maildir", subject="Maildir one"))
    box.add(raw_mail("stranger@nowhere.example", "Who am I", subject="Unknown"))
    call_command("ingest_mail", tenant="acme", maildir=str(tmp_path / "Maildir"))
    call_command("ingest_mail", tenant="acme", maildir=str(tmp_path / "Maildir"))  # seen: skipped
    mbox = mailbox.mbox(tmp_path / "in.mbox")
    mbox.add(raw_mail(acme.other_customer.email, "Sent through the mbox", subject="Mbox one"))
    mbox.flush()
    call_command("ingest_mail", tenant="acme", mbox=str(tmp_path / "in.mbox"))
    with acme.scope():
        subjects = sorted(Ticket.objects.values_list("subject", flat=True))
    assert subjects == ["Maildir one", "Mbox one"]


def test_the_chinese_reply_marker_cuts_the_quoted_history():
    assert (
        strip_quoted("好的，谢谢\n\n请在此行上方回复，回复内容将添加到对话中。\n旧内容")
        == "好的，谢谢"
    )


# -- threading by the Message-IDs of a ticket's thread -----------------------------------


def _ticket_with_acknowledgement(desk, django_capture_on_commit_callbacks, requester=None):
    """A ticket, its notifications queued: the Message-ID of its acknowledgement."""
    from helpdesk.models import OutboundEmail

    requester = requester or desk.customer
    with django_capture_on_commit_callbacks(execute=True):
        ticket = make_ticket(desk, requester)
    with desk.scope():
        ack = OutboundEmail.objects.get(
            to=[requester.email], headers__contains={"X-Helpdesk-Ticket": str(ticket.number)}
        )
    return ticket, ack.headers["Message-ID"]


def test_a_reply_naming_only_our_acknowledgement_in_in_reply_to_threads(
    acme, django_capture_on_commit_callbacks, dmarc_checked
):
    ticket, ack_id = _ticket_with_acknowledgement(acme, django_capture_on_commit_callbacks)
    result = ingest(
        acme,
        raw_mail(
            acme.customer.email,
            "Any news?",
            subject="Re: your request",
            headers={"In-Reply-To": ack_id, **dmarc_pass(acme.customer.email)},
        ),
    )
    assert (result.action, result.ticket_number) == ("replied", ticket.number)
    with acme.scope():
        assert Ticket.objects.count() == 1
    assert _bodies(acme, ticket)[-1] == "Any news?"


def test_every_email_we_send_about_a_ticket_has_its_own_unguessable_recorded_id(
    acme, django_capture_on_commit_callbacks
):
    from helpdesk.models import OutboundEmail
    from tickets.models import TicketEmailId

    ticket, _ack_id = _ticket_with_acknowledgement(acme, django_capture_on_commit_callbacks)
    with acme.scope():
        sent = [email.headers["Message-ID"] for email in OutboundEmail.objects.all()]
        recorded = dict(
            TicketEmailId.objects.filter(sent=True).values_list("message_id", "ticket_id")
        )
    assert len(sent) == len(set(sent)) >= 2  # the acknowledgement and the agents' notices
    assert recorded == dict.fromkeys(sent, ticket.pk)
    for message_id in sent:
        local = message_id.strip("<>").split("@")[0]
        assert len(local) >= 32 and str(ticket.number) != local


def test_a_message_id_of_another_desks_email_does_not_thread_there(
    acme, globex, django_capture_on_commit_callbacks
):
    theirs, their_ack_id = _ticket_with_acknowledgement(globex, django_capture_on_commit_callbacks)
    result = ingest(
        acme, raw_mail(acme.customer.email, "Hello", headers={"In-Reply-To": their_ack_id})
    )
    assert result.action == "created"
    assert len(_bodies(globex, theirs)) == 1
    # Nor the other way round: Globex does not know Acme's ids.
    ours, our_ack_id = _ticket_with_acknowledgement(acme, django_capture_on_commit_callbacks)
    result = ingest(
        globex,
        raw_mail(globex.customer.email, "Hello Globex", headers={"References": our_ack_id}),
    )
    assert result.action == "created"
    assert len(_bodies(acme, ours)) == 1


def test_a_message_id_never_lets_a_customer_post_into_a_ticket_they_may_not_see(
    acme, django_capture_on_commit_callbacks
):
    ticket, ack_id = _ticket_with_acknowledgement(acme, django_capture_on_commit_callbacks)
    result = ingest(
        acme,
        raw_mail(acme.other_customer.email, "Let me in", headers={"In-Reply-To": ack_id}),
    )
    assert result.action == "created" and result.ticket_number != ticket.number
    assert len(_bodies(acme, ticket)) == 1


def test_a_customer_replying_to_their_own_first_mail_threads_into_its_ticket(acme, dmarc_checked):
    first_id = "<first-mail@client.example>"
    first = raw_mail(
        acme.customer.email, "The export fails.", subject="Export", message_id=first_id
    )
    created = ingest(acme, first)
    # Their client answers their own sent mail: References names only it.
    follow_up = raw_mail(
        acme.customer.email,
        "Also the PDF export.",
        subject="Re: Export",
        headers={"References": first_id, **dmarc_pass(acme.customer.email)},
    )
    result = ingest(acme, follow_up)
    assert (result.action, result.ticket_number) == ("replied", created.ticket_number)


def test_the_newest_reference_the_sender_may_post_into_wins(
    acme, django_capture_on_commit_callbacks
):
    older, older_id = _ticket_with_acknowledgement(acme, django_capture_on_commit_callbacks)
    newer, newer_id = _ticket_with_acknowledgement(acme, django_capture_on_commit_callbacks)
    result = ingest(
        acme,
        raw_mail(
            acme.customer.email, "Which one?", headers={"References": f"{older_id} {newer_id}"}
        ),
    )
    assert result.ticket_number == newer.number


def test_a_reply_to_a_merged_ticket_goes_to_the_ticket_it_was_merged_into(
    acme, django_capture_on_commit_callbacks, dmarc_checked
):
    from tickets.services import ticket_merge

    source, source_ack_id = _ticket_with_acknowledgement(acme, django_capture_on_commit_callbacks)
    target = make_ticket(acme, subject="The one we keep")
    with acme.scope():
        ticket_merge(source=source, target=target, actor=acme.agent)
    result = ingest(
        acme,
        raw_mail(
            acme.customer.email,
            "Still there?",
            headers={"In-Reply-To": source_ack_id, **dmarc_pass(acme.customer.email)},
        ),
    )
    assert (result.action, result.ticket_number) == ("replied", target.number)


def test_one_of_our_own_emails_coming_back_is_ignored(acme, django_capture_on_commit_callbacks):
    ticket, ack_id = _ticket_with_acknowledgement(acme, django_capture_on_commit_callbacks)
    looped = raw_mail(acme.customer.email, "We received your request", message_id=ack_id)
    result = ingest(acme, looped)
    assert (result.action, result.reason) == ("ignored", "one of our own emails")
    assert len(_bodies(acme, ticket)) == 1


def test_thread_ids_of_mail_from_before_the_migration_are_filled_in(
    acme, django_capture_on_commit_callbacks
):
    """The migration's backfill: received ids from the messages, sent ones from the
    outbox's headers, so replies to mail sent before the upgrade thread too."""
    import importlib

    from django.db import connection

    from tickets.models import TicketEmailId

    migration = importlib.import_module("tickets.migrations.0006_email_threads_and_suspended_mail")
    ticket, ack_id = _ticket_with_acknowledgement(acme, django_capture_on_commit_callbacks)
    ingest(acme, raw_mail(acme.customer.email, "More", headers={"In-Reply-To": ack_id}))
    with acme.scope():
        before = set(TicketEmailId.objects.values_list("message_id", "ticket_id", "sent"))
        TicketEmailId.objects.all().delete()
    with connection.cursor() as cursor:
        cursor.execute(migration.BACKFILL_RECEIVED)
        cursor.execute(migration.BACKFILL_SENT)
    with acme.scope():
        after = set(TicketEmailId.objects.values_list("message_id", "ticket_id", "sent"))
    assert after == before
    assert (ack_id, ticket.pk, True) in after


def test_the_same_mail_delivered_twice_at_once_becomes_one_ticket(transactional_db):
    """Two gateways' deliveries race: the Message-ID's row (unique per desk) lets one in."""
    import threading

    from django.db import connection

    from tests.conftest import build_desk

    acme = build_desk("acme", "Acme Analytics")
    raw = raw_mail(acme.customer.email, "Once, even at the same moment", subject="Race")
    start = threading.Barrier(2)
    results = []

    def deliver():
        try:
            start.wait()
            results.append(ingest(acme, raw).action)
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == ["created", "ignored"]
    with acme.scope():
        assert Ticket.objects.filter(subject="Race").count() == 1


# -- what the endpoint answers -------------------------------------------------------------


def _post(desk, raw, **extra):
    return Client(HTTP_HOST=desk.host).post(
        "/inbound/email/",
        raw,
        content_type="message/rfc822",
        HTTP_X_INBOUND_SECRET=desk.tenant.inbound_email_secret,
        **extra,
    )


@pytest.mark.parametrize("length", ["abc", "-1", "1e3", "١٢"])
def test_a_content_length_that_is_not_a_byte_count_is_a_400(acme, length):
    # Refused before any view, as on every route (helpdesk/input_guard.py).
    response = _post(acme, raw_mail(acme.customer.email, "Hi"), CONTENT_LENGTH=length)
    assert response.status_code == 400
    assert "The Content-Length header must be a number of bytes." in response.content.decode()


def test_a_declared_size_over_the_limit_is_a_413(acme):
    from tickets.inbound import MAX_INBOUND_BYTES

    response = _post(
        acme, raw_mail(acme.customer.email, "Hi"), CONTENT_LENGTH=str(MAX_INBOUND_BYTES + 1)
    )
    assert response.status_code == 413


def test_mail_larger_than_djangos_form_limit_is_taken(acme, settings):
    """Django's 5 MB DATA_UPLOAD_MAX_MEMORY_SIZE is for forms and JSON; mail may carry
    attachments up to ATTACHMENT_MAX_BYTES."""
    big = bytes(range(256)) * (6 * 1024 * 1024 // 256)
    raw = raw_mail(
        acme.customer.email,
        "The log is attached.",
        subject="Big log",
        attachments=[("log.bin", big, "application/octet-stream")],
    )
    assert len(raw) > settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    response = _post(acme, raw)
    assert response.status_code == 200 and response.json()["action"] == "created"
    with acme.scope():
        attachment = Ticket.objects.get(subject="Big log").attachments.get()
        assert attachment.size == len(big)


@pytest.mark.parametrize(
    "raw",
    [
        b"From: carol\x00@acme-co.example\nSubject: Hi\n\nbody",
        b"From: Carol <carol@acme-co.example>\nSubject: Nul\x00here\n\nbody with \x00 too",
        (
            b"From: carol@acme-co.example\nSubject: =?utf-8?b?"
            + base64.b64encode(b"a\x00b")
            + b"?=\n\nbody"
        ),
    ],
)
def test_a_nul_anywhere_in_a_mail_is_kept_never_a_500(acme, raw):
    # Mail is not refused (helpdesk/input_guard.py `storable`): what is read of it has
    # the NUL replaced, and its raw bytes are kept as they came.
    response = Client(HTTP_HOST=acme.host).post(
        "/inbound/email/",
        raw,
        content_type="message/rfc822",
        HTTP_X_INBOUND_SECRET=acme.tenant.inbound_email_secret,
    )
    assert response.status_code == 200, response.content
    assert response.json()["action"] in {"created", "suspended"}

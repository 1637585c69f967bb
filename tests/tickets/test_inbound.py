"""Email in: threading, new tickets, unknown senders, loop guards and bad mail."""

import mailbox
from email.message import EmailMessage

import pytest
from django.core import mail
from django.test import Client

from tests.tickets.factories import make_ticket
from tickets.inbound import ingest_email, strip_quoted
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
):
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = f"<{abs(hash((sender, body, subject)))}@client.example>"
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(body)
    if html:
        message.add_alternative(html, subtype="html")
    for name, content, mimetype in attachments:
        maintype, subtype = mimetype.split("/")
        message.add_attachment(content, maintype=maintype, subtype=subtype, filename=name)
    return message.as_bytes()


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
            to=f"reply+{ticket.reply_token}@localhost",
        ),
    )
    assert (result.action, result.ticket_number) == ("replied", ticket.number)
    assert _bodies(acme, ticket)[-1] == "Thanks, that fixed it."
    with acme.scope():
        assert Message.objects.filter(ticket=ticket).last().channel == Channel.EMAIL


def test_reply_threads_by_headers_when_the_token_is_gone(acme):
    ticket = make_ticket(acme)
    raw = raw_mail(
        acme.customer.email,
        "还是不行。\n\n在 2026年11月23日 10:00，客服 写道：\n> 旧内容",
        subject="回复: 问题",
        headers={"References": thread_root_id(ticket)},
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
            acme.customer.email, "Not fixed after all", to=f"reply+{ticket.reply_token}@localhost"
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
        raw_mail(acme.agent.email, "We are on it.", to=f"reply+{ticket.reply_token}@localhost"),
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

"""Suspended mail: whatever email in cannot take is kept, raw bytes and all, for the
desk's admins to download, retry, turn into a ticket or delete; strangers' mail
expires after 14 days. Through the real endpoint, command and admin pages."""

import mailbox
import threading
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
import time_machine
from django.contrib.admin.models import DELETION, LogEntry
from django.core import mail
from django.core.exceptions import PermissionDenied
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction
from django.urls import reverse

from tests.conftest import build_desk
from tests.tickets.test_inbound import _post, raw_mail
from tickets.models import Channel, SuspendedEmail, Ticket
from tickets.services import suspended_email_retry
from tickets.tasks import purge_suspended_emails

# A customer's mail whose text part names a charset nobody knows: Python's parser
# gives up on it. Its text is UTF-8 all the same.
BOGUS_CHARSET = (
    b"From: Carol Customer <carol@acme-co.example>\r\n"
    b"To: support@acme.localhost\r\n"
    b"Subject: Export broken\r\n"
    b"Message-ID: <bogus-charset@client.example>\r\n"
    b"Content-Type: multipart/mixed; boundary=x\r\n"
    b"\r\n"
    b"--x\r\n"
    b"Content-Type: text/plain; charset=bogus-charset\r\n"
    b"\r\n"
    b"The export \xe2\x80\x94 every CSV \xe2\x80\x94 fails.\r\n"
    b"--x--\r\n"
)


def url(page, *args):
    return reverse(f"admin:tickets_suspendedemail_{page}", args=args)


def _polite_replies(address):
    return [m for m in mail.outbox if m.to == [address] and "through the help center" in m.subject]


def kept(desk) -> list[SuspendedEmail]:
    with desk.scope():
        return list(SuspendedEmail.objects.order_by("received_at", "pk"))


def test_malformed_mail_from_a_customer_is_kept_byte_for_byte_and_made_a_ticket(acme):
    response = _post(acme, BOGUS_CHARSET)
    assert response.status_code == 200
    answer = response.json()
    assert (answer["action"], answer["reason"]) == ("suspended", "unparseable")
    assert "LookupError" in answer["detail"]

    [suspended] = kept(acme)
    assert (suspended.sender, suspended.subject, suspended.message_id) == (
        acme.customer.email,
        "Export broken",
        "<bogus-charset@client.example>",
    )
    assert suspended.source == SuspendedEmail.Source.GATEWAY
    assert suspended.expires_at is None  # a member's mail waits until someone handles it

    admin = acme.client(acme.admin)
    download = admin.get(url("raw", suspended.pk))
    assert download.status_code == 200 and download.content == BOGUS_CHARSET
    assert download["Content-Type"] == "message/rfc822"
    assert download["Content-Disposition"].startswith("attachment;")
    assert ".eml" in download["Content-Disposition"]

    page = admin.get(url("change", suspended.pk)).content.decode()
    assert "Export broken" in page and "LookupError" in page
    assert "The export — every CSV — fails." in page  # the preview decodes it as best it can

    form = admin.get(url("to_ticket", suspended.pk))
    assert form.context["form"].initial["requester"] == acme.customer.email
    response = admin.post(
        url("to_ticket", suspended.pk),
        {"requester": acme.customer.email, "subject": "Export broken"},
        follow=True,
    )
    assert "was opened from the mail" in response.content.decode()
    assert kept(acme) == []
    with acme.scope():
        ticket = Ticket.objects.get(subject="Export broken")
        message = ticket.messages.get()
    assert (ticket.requester, ticket.channel) == (acme.customer, Channel.EMAIL)
    assert message.body == "The export — every CSV — fails."
    assert LogEntry.objects.get(object_id=str(suspended.pk)).change_message == (
        f"Turned into ticket #{ticket.number}"
    )
    # The mail is in the ticket now: delivered again, it is recognised.
    assert _post(acme, BOGUS_CHARSET).json()["action"] == "ignored"


def test_turning_mail_into_a_ticket_needs_a_member_as_requester(acme):
    _post(acme, BOGUS_CHARSET)
    [suspended] = kept(acme)
    response = acme.client(acme.admin).post(
        url("to_ticket", suspended.pk), {"requester": "nobody@nowhere.example", "subject": "X"}
    )
    assert "No active member of this desk has this email address." in response.content.decode()
    assert len(kept(acme)) == 1
    with acme.scope():
        assert not Ticket.objects.exists()


def test_an_unknown_senders_mail_is_kept_and_retried_once_they_are_a_member(
    acme, django_capture_on_commit_callbacks
):
    raw = raw_mail("dana@acme-co.example", "Can I get access?", subject="Access")
    with django_capture_on_commit_callbacks(execute=True):
        answer = _post(acme, raw).json()
    assert (answer["action"], answer["reason"]) == ("suspended", "unknown_sender")
    [suspended] = kept(acme)
    assert suspended.expires_at == suspended.received_at + timedelta(days=14)
    assert len(_polite_replies("dana@acme-co.example")) == 1

    admin = acme.client(acme.admin)
    with django_capture_on_commit_callbacks(execute=True):
        added = admin.post(
            reverse("admin:helpdesk_membership_add"),
            {"email": "dana@acme-co.example", "full_name": "Dana", "role": "customer"},
        )
    assert added.status_code == 302
    with django_capture_on_commit_callbacks(execute=True):
        response = admin.post(url("retry", suspended.pk), follow=True)
    with acme.scope():
        ticket = Ticket.objects.get(subject="Access")
    link = f'<a href="/agent/tickets/{ticket.number}/">#{ticket.number}</a>'
    assert f"“Access” opened ticket {link}." in response.content.decode()
    assert response.redirect_chain[-1][0] == url("changelist")
    assert ticket.requester.email == "dana@acme-co.example"
    assert kept(acme) == []
    # The admin's history keeps who handled it and how.
    entry = LogEntry.objects.get(object_id=str(suspended.pk), user=acme.admin)
    assert (entry.action_flag, entry.change_message) == (
        DELETION,
        f"Retried: created #{ticket.number}",
    )
    # The retry does not answer a second time (the new ticket's acknowledgement aside).
    assert len(_polite_replies("dana@acme-co.example")) == 1


def test_a_mail_the_services_refuse_is_kept_and_retried_after_the_fix(acme, settings):
    settings.ATTACHMENTS_PER_MESSAGE = 2
    raw = raw_mail(
        acme.customer.email,
        "Three logs.",
        subject="Logs",
        attachments=[(f"log{n}.txt", b"trace %d" % n, "text/plain") for n in range(3)],
    )
    answer = _post(acme, raw).json()
    assert (answer["action"], answer["reason"]) == ("suspended", "rejected")
    assert answer["detail"] == "Attach at most 2 files to one message."

    [suspended] = kept(acme)
    admin = acme.client(acme.admin)
    response = admin.post(url("retry", suspended.pk), follow=True)
    assert "is still suspended: Attach at most 2 files" in response.content.decode()
    assert response.redirect_chain[-1][0] == url("change", suspended.pk)
    [still] = kept(acme)
    assert still.retried_at is not None

    settings.ATTACHMENTS_PER_MESSAGE = 10  # the fix is deployed
    response = admin.post(
        url("changelist"),
        {"action": "retry_selected", "_selected_action": [suspended.pk]},
        follow=True,
    )
    assert "“Logs” opened ticket <a href=" in response.content.decode()
    with acme.scope():
        assert Ticket.objects.get(subject="Logs").attachments.count() == 3
    assert kept(acme) == []


def test_an_unexpected_error_keeps_the_mail_and_is_never_a_500(acme, monkeypatch):
    """Our own code failing (here: made to) must not lose the mail; a retry after the
    fix takes it."""
    import tickets.inbound

    def broken(**kwargs):
        raise RuntimeError("the disk is on fire")

    monkeypatch.setattr(tickets.inbound, "ticket_create", broken)
    response = _post(acme, raw_mail(acme.customer.email, "Hello", subject="Unlucky"))
    assert response.status_code == 200
    assert response.json()["reason"] == "failed"
    assert response.json()["detail"] == "RuntimeError: the disk is on fire"
    [suspended] = kept(acme)
    assert suspended.error == "RuntimeError: the disk is on fire"

    monkeypatch.undo()
    with acme.scope():
        result = suspended_email_retry(suspended=suspended, actor=acme.admin)
    assert result.action == "created"
    assert kept(acme) == []


def test_the_same_suspended_mail_delivered_again_is_kept_once(
    acme, django_capture_on_commit_callbacks
):
    raw = raw_mail("stranger@nowhere.example", "Anyone?")
    with django_capture_on_commit_callbacks(execute=True):
        answers = [_post(acme, raw).json() for _ in range(3)]
    assert {(a["action"], a["reason"]) for a in answers} == {("suspended", "unknown_sender")}
    assert len(kept(acme)) == 1
    assert len(_polite_replies("stranger@nowhere.example")) == 1


def test_automated_mail_is_ignored_not_suspended(acme):
    bounce = raw_mail("MAILER-DAEMON@mx.example", "Delivery failed", headers={"Return-Path": "<>"})
    assert _post(acme, bounce).json()["action"] == "ignored"
    assert kept(acme) == []


def test_strangers_mail_expires_after_14_days_and_the_purge_deletes_only_that(
    acme, django_capture_on_commit_callbacks
):
    globex = build_desk("globex", "Globex")
    start = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    with time_machine.travel(start, tick=False):
        _post(acme, raw_mail("stranger@nowhere.example", "First"))
        _post(globex, raw_mail("stranger@nowhere.example", "First at Globex"))
        _post(acme, BOGUS_CHARSET)  # a member's: kept until handled
    with time_machine.travel(start + timedelta(days=1), tick=False):
        _post(acme, raw_mail("stranger@nowhere.example", "A day later"))

    with time_machine.travel(start + timedelta(days=14) - timedelta(minutes=1), tick=False):
        assert purge_suspended_emails() == 0
    assert len(kept(acme)) == 3 and len(kept(globex)) == 1

    with time_machine.travel(start + timedelta(days=14, minutes=1), tick=False):
        assert purge_suspended_emails() == 2  # one task for each desk with expired mail
    assert [s.reason for s in kept(acme)] == ["unparseable", "unknown_sender"]
    assert kept(acme)[1].received_at == start + timedelta(days=1)
    assert kept(globex) == []


def test_the_list_shows_sender_subject_reason_received_and_expiry(acme):
    _post(acme, BOGUS_CHARSET)
    _post(acme, raw_mail("stranger@nowhere.example", "Hi", subject="Stranger's question"))
    response = acme.client(acme.admin).get(url("changelist"))
    body = response.content.decode()
    assert response.status_code == 200
    for text in [
        "carol@acme-co.example",
        "Export broken",
        "Could not be read",
        "stranger@nowhere.example",
        "Stranger&#x27;s question",
        "Unknown sender",
        "Kept until handled",
    ]:
        assert text in body, text


def test_the_page_never_renders_the_mails_html(acme):
    raw = raw_mail(
        "stranger@nowhere.example",
        "plain",
        subject="<b>bold</b> offer",
        html='<p>Hi</p><script>alert("x")</script><img src=x onerror=alert(1)>',
    )
    # HTML only: drop the plain part the helper adds.
    raw = raw.replace(b"Content-Type: text/plain", b"Content-Type: text/x-ignored")
    _post(acme, raw)
    [suspended] = kept(acme)
    body = acme.client(acme.admin).get(url("change", suspended.pk)).content.decode()
    assert "<b>bold</b>" not in body and "&lt;b&gt;bold&lt;/b&gt; offer" in body
    assert 'alert("x")' not in body and "onerror" not in body
    download = acme.client(acme.admin).get(url("raw", suspended.pk))
    assert "sandbox" in download["Content-Security-Policy"]
    assert download["X-Content-Type-Options"] == "nosniff"


def test_deleting_through_the_page_and_the_bulk_action(acme):
    _post(acme, raw_mail("one@nowhere.example", "One"))
    _post(acme, raw_mail("two@nowhere.example", "Two"))
    first, second = kept(acme)
    admin = acme.client(acme.admin)
    assert admin.post(url("delete", first.pk), {"post": "yes"}).status_code == 302
    assert [s.pk for s in kept(acme)] == [second.pk]
    admin.post(
        url("changelist"),
        {"action": "delete_selected", "_selected_action": [second.pk], "post": "yes"},
    )
    assert kept(acme) == []


def test_another_desks_admin_can_neither_see_nor_handle_the_mail(acme, globex):
    _post(acme, BOGUS_CHARSET)
    [suspended] = kept(acme)
    theirs = globex.client(globex.admin)
    listed = theirs.get(url("changelist"))
    assert listed.status_code == 200 and "Export broken" not in listed.content.decode()
    for page in ["change", "raw", "to_ticket", "delete"]:
        assert theirs.get(url(page, suspended.pk), follow=True).status_code in (200, 404)
        assert (
            "Export broken" not in theirs.get(url(page, suspended.pk), follow=True).content.decode()
        )
    assert theirs.post(url("retry", suspended.pk)).status_code == 404
    assert (
        theirs.post(
            url("to_ticket", suspended.pk), {"requester": globex.customer.email, "subject": "x"}
        ).status_code
        == 404
    )
    theirs.post(url("delete", suspended.pk), {"post": "yes"})
    theirs.post(
        url("changelist"),
        {"action": "delete_selected", "_selected_action": [suspended.pk], "post": "yes"},
    )
    theirs.post(url("changelist"), {"action": "retry_selected", "_selected_action": [suspended.pk]})
    assert [s.pk for s in kept(acme)] == [suspended.pk]
    with globex.scope():
        assert not Ticket.objects.exists()


def test_a_platform_operator_reads_but_does_not_handle_suspended_mail(acme):
    from tests.helpdesk.mfa import operator_client

    _post(acme, BOGUS_CHARSET)
    [suspended] = kept(acme)
    operator = operator_client()
    page = operator.get(url("change", suspended.pk))
    assert page.status_code == 200 and "Export broken" in page.content.decode()
    assert url("retry", suspended.pk) not in page.content.decode()
    for page_name in ["raw", "to_ticket"]:
        assert operator.get(url(page_name, suspended.pk)).status_code == 403
    assert operator.post(url("retry", suspended.pk)).status_code == 403
    operator.post(url("delete", suspended.pk), {"post": "yes"})
    assert len(kept(acme)) == 1


@pytest.mark.parametrize("role", ["agent", "customer"])
def test_agents_and_customers_cannot_reach_suspended_mail(acme, role):
    _post(acme, BOGUS_CHARSET)
    [suspended] = kept(acme)
    client = acme.client(getattr(acme, role))
    for page, args in [("changelist", ()), ("change", (suspended.pk,)), ("raw", (suspended.pk,))]:
        response = client.get(url(page, *args))
        assert response.status_code in (302, 403)
        assert b"Export broken" not in response.content
    client.post(url("retry", suspended.pk))
    client.post(url("delete", suspended.pk), {"post": "yes"})
    assert len(kept(acme)) == 1
    with acme.scope(), pytest.raises(PermissionDenied):
        suspended_email_retry(suspended=suspended, actor=getattr(acme, role))


def test_a_message_over_the_size_limit_keeps_its_first_bytes(acme, tmp_path, monkeypatch):
    import tickets.inbound

    monkeypatch.setattr(tickets.inbound, "MAX_INBOUND_BYTES", 2000)
    raw = raw_mail(acme.customer.email, "x" * 5000, subject="Huge")
    box = mailbox.Maildir(tmp_path / "Maildir")
    box.add(raw)
    call_command("ingest_mail", tenant="acme", maildir=str(tmp_path / "Maildir"), stderr=StringIO())
    [suspended] = kept(acme)
    assert suspended.reason == SuspendedEmail.Reason.TOO_LARGE
    assert bytes(suspended.raw) == raw[:2000] and suspended.size == len(raw)
    page = acme.client(acme.admin).get(url("change", suspended.pk)).content.decode()
    assert "only the first" in page


def test_ingest_mail_keeps_failing_maildir_messages_and_reads_them_once(acme, tmp_path):
    box = mailbox.Maildir(tmp_path / "Maildir")
    box.add(raw_mail(acme.customer.email, "Works", subject="Good one"))
    box.add(BOGUS_CHARSET)
    box.add(raw_mail("stranger@nowhere.example", "Who am I", subject="Unknown"))
    out, err = StringIO(), StringIO()
    call_command(
        "ingest_mail", tenant="acme", maildir=str(tmp_path / "Maildir"), stdout=out, stderr=err
    )
    assert out.getvalue().strip() == "acme: created 1, suspended 2"
    assert "suspended (unparseable)" in err.getvalue()
    assert all("S" in message.get_flags() for message in box)
    assert {(s.reason, s.source) for s in kept(acme)} == {
        ("unparseable", "maildir"),
        ("unknown_sender", "maildir"),
    }
    out = StringIO()
    call_command("ingest_mail", tenant="acme", maildir=str(tmp_path / "Maildir"), stdout=out)
    assert out.getvalue().strip() == "acme: no new mail"


# -- when the database cannot store the mail at all ----------------------------------------


class _TablesLocked:
    """Another session holds write locks on the tables a mail is stored in, and this
    session gives up on a statement after a moment: the database cannot take the mail."""

    TABLES = ("tickets_ticket", "tickets_suspendedemail")

    def __enter__(self):
        self._locked, self._release = threading.Event(), threading.Event()
        self._thread = threading.Thread(target=self._hold)
        self._thread.start()
        assert self._locked.wait(10)
        with connection.cursor() as cursor:
            cursor.execute("SET statement_timeout = '300ms'")
        return self

    def _hold(self):
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(f"LOCK TABLE {', '.join(self.TABLES)} IN EXCLUSIVE MODE")
                self._locked.set()
                self._release.wait(30)
        finally:
            connection.close()

    def __exit__(self, *exc):
        with connection.cursor() as cursor:
            cursor.execute("RESET statement_timeout")
        self._release.set()
        self._thread.join()


def test_mail_the_database_cannot_store_is_a_503_for_the_gateway_to_retry(transactional_db):
    acme = build_desk("acme", "Acme Analytics")
    raw = raw_mail(acme.customer.email, "Please keep me", subject="Kept later")
    with _TablesLocked():
        response = _post(acme, raw)
    assert response.status_code == 503 and response["Retry-After"] == "60"
    assert "deliver it again later" in response.json()["error"]
    assert kept(acme) == []
    # The gateway's next attempt finds the database back.
    assert _post(acme, raw).json()["action"] == "created"


def test_a_maildir_message_the_database_cannot_store_stays_unread(transactional_db, tmp_path):
    acme = build_desk("acme", "Acme Analytics")
    box = mailbox.Maildir(tmp_path / "Maildir")
    box.add(raw_mail(acme.customer.email, "Please keep me", subject="Kept later"))
    with _TablesLocked(), pytest.raises(CommandError, match="stays unread for the next run"):
        call_command("ingest_mail", tenant="acme", maildir=str(tmp_path / "Maildir"))
    assert not any("S" in message.get_flags() for message in box)
    out = StringIO()
    call_command("ingest_mail", tenant="acme", maildir=str(tmp_path / "Maildir"), stdout=out)
    assert out.getvalue().strip() == "acme: created 1"


# -- in Chinese ------------------------------------------------------------------------------


def test_the_suspended_mail_pages_are_in_chinese(acme):
    _post(acme, BOGUS_CHARSET)
    _post(acme, raw_mail("stranger@nowhere.example", "Hi"))
    [member_mail, _stranger] = kept(acme)
    admin = acme.client(acme.admin)
    pages = {
        "changelist": admin.get(url("changelist"), HTTP_ACCEPT_LANGUAGE="zh-hans"),
        "change": admin.get(url("change", member_mail.pk), HTTP_ACCEPT_LANGUAGE="zh-hans"),
        "to_ticket": admin.get(url("to_ticket", member_mail.pk), HTTP_ACCEPT_LANGUAGE="zh-hans"),
    }
    english = [
        "Suspended mail",
        "Kept until handled",
        "Could not be read",
        "Unknown sender",
        "Retry the selected mail",
        "Turn into a ticket",
        "Download the original",
        "text (preview)",
        "received through",
        "Open the ticket",
        "Requester",
        "Attachments kept",
        "becomes a ticket of the requester",
    ]
    for name, response in pages.items():
        assert response.status_code == 200, name
        body = response.content.decode()
        for text in english:
            assert text not in body, (name, text)
    assert "暂存邮件" in pages["changelist"].content.decode()

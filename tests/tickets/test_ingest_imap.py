"""`manage.py ingest_mail --imap` against a real IMAP server (pymap, see imap_server.py),
over implicit TLS, STARTTLS and plain connections."""

import re
import shutil
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tests.tickets.factories import make_ticket, reply_to
from tests.tickets.imap_server import PASSWORD, USER, ImapServer, make_certificate
from tests.tickets.test_inbound import raw_mail
from tickets.models import Channel, Message, Ticket


@pytest.fixture(scope="session")
def certificate(tmp_path_factory):
    if shutil.which("openssl") is None:
        pytest.fail("openssl is needed to make the IMAP server's test certificate")
    return make_certificate(tmp_path_factory.mktemp("imap-tls"))


def _start(security, certificate, monkeypatch) -> ImapServer:
    server = ImapServer(security, *certificate).start()
    for name, value in {
        "IMAP_HOST": server.host,
        "IMAP_PORT": str(server.port),
        "IMAP_SECURITY": security,
        "IMAP_USER": USER,
        "IMAP_PASSWORD": PASSWORD,
        # The test server's certificate is trusted as a private CA's would be.
        "SSL_CERT_FILE": str(certificate[0]),
    }.items():
        monkeypatch.setenv(name, value)
    return server


@pytest.fixture(params=["ssl", "starttls", "none"])
def imap(request, certificate, monkeypatch):
    server = _start(request.param, certificate, monkeypatch)
    yield server
    server.stop()


@pytest.fixture
def imaps(certificate, monkeypatch):
    server = _start("ssl", certificate, monkeypatch)
    yield server
    server.stop()


def _ingest(**options) -> str:
    out = StringIO()
    call_command("ingest_mail", "--imap", tenant="acme", stdout=out, stderr=StringIO(), **options)
    return out.getvalue().strip()


def test_unseen_mail_becomes_tickets_and_replies_once(acme, imap):
    ticket = make_ticket(acme)
    reply = raw_mail(acme.customer.email, "Still broken", to=reply_to(acme, ticket, acme.customer))
    new = raw_mail(acme.other_customer.email, "Exports time out", subject="Exports")
    old = raw_mail(acme.customer.email, "Read in a mail client", subject="Already read")
    imap.deliver(reply)
    imap.deliver(new)
    imap.deliver(old, seen=True)

    assert _ingest() == "acme: created 1, replied 1"

    with acme.scope():
        assert list(Ticket.objects.order_by("number").values_list("subject", flat=True)) == [
            ticket.subject,
            "Exports",
        ]
        last = Message.objects.filter(ticket=ticket).last()
        assert (last.body, last.channel) == ("Still broken", Channel.EMAIL)
    assert all("\\Seen" in flags for flags in imap.flags().values())

    # Nothing new: nothing read. All unseen again (another client did it): the two
    # ingested are recognised by their Message-ID, the one read elsewhere is new here.
    assert _ingest() == "acme: no new mail"
    imap.mark_unseen()
    assert _ingest() == "acme: created 1, ignored 2"
    with acme.scope():
        assert (Ticket.objects.count(), Message.objects.count()) == (3, 4)


def test_options_name_the_server_too(acme, imaps, monkeypatch):
    for name in ("IMAP_HOST", "IMAP_PORT", "IMAP_SECURITY", "IMAP_USER"):
        monkeypatch.delenv(name)
    imaps.deliver(raw_mail(acme.customer.email, "By options", subject="Options"))
    output = _ingest(
        imap_host="localhost", imap_port=str(imaps.port), imap_security="ssl", imap_user=USER
    )
    assert output == "acme: created 1"


def test_bad_credentials_are_a_clear_command_error(acme, imaps, monkeypatch):
    monkeypatch.setenv("IMAP_PASSWORD", "not-the-password")
    with pytest.raises(CommandError) as refused:
        _ingest()
    message = str(refused.value)
    assert message.startswith(f"The IMAP server 127.0.0.1:{imaps.port} (ssl) refused the login")
    assert "AUTHENTICATIONFAILED" in message and "not-the-password" not in message


def test_an_unknown_folder_is_a_command_error(acme, imaps):
    with pytest.raises(
        CommandError, match=re.escape("No IMAP folder 'Support' for support@acme.example")
    ):
        _ingest(imap_folder="Support")


def test_an_untrusted_certificate_is_refused(acme, imaps, monkeypatch):
    monkeypatch.delenv("SSL_CERT_FILE")
    with pytest.raises(CommandError, match=r"Cannot connect .*CERTIFICATE_VERIFY_FAILED"):
        _ingest()


def test_starttls_with_a_server_that_does_not_offer_it_is_refused(acme, certificate, monkeypatch):
    server = _start("none", certificate, monkeypatch)
    monkeypatch.setenv("IMAP_SECURITY", "starttls")
    try:
        with pytest.raises(CommandError, match=r"Cannot connect .*TLS not supported"):
            _ingest()
    finally:
        server.stop()


def test_a_closed_port_is_a_command_error(acme, imaps):
    imaps.stop()
    with pytest.raises(
        CommandError, match=re.escape("Cannot connect to the IMAP server 127.0.0.1")
    ):
        _ingest()


@pytest.mark.parametrize(
    ("variable", "value", "error"),
    [
        ("IMAP_PASSWORD", "", "Set IMAP_HOST, IMAP_USER and IMAP_PASSWORD"),
        ("IMAP_SECURITY", "tls", "IMAP security 'tls' is not one of ssl, starttls, none."),
        ("IMAP_PORT", "imap", "IMAP port 'imap' is not a port number."),
    ],
)
def test_missing_or_bad_settings_are_a_command_error(
    acme, imaps, monkeypatch, variable, value, error
):
    monkeypatch.setenv(variable, value)
    with pytest.raises(CommandError, match=re.escape(error)):
        _ingest()


def test_mail_that_cannot_be_taken_is_suspended_and_flagged_seen(acme, imaps):
    from tests.tickets.test_suspended_mail import BOGUS_CHARSET
    from tickets.models import SuspendedEmail

    imaps.deliver(BOGUS_CHARSET)
    imaps.deliver(raw_mail("stranger@nowhere.example", "Who am I", subject="Unknown"))
    assert _ingest() == "acme: suspended 2"
    assert all("\\Seen" in flags for flags in imaps.flags().values())
    # Never read again and again: the next run has nothing new.
    assert _ingest() == "acme: no new mail"
    with acme.scope():
        kept = list(SuspendedEmail.objects.values_list("source", "reason").order_by("reason"))
    assert kept == [("imap", "unknown_sender"), ("imap", "unparseable")]

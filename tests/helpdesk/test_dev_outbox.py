"""With DEBUG, mail lands in a local outbox a person trying the demo can read."""

from django.core.mail import EmailMultiAlternatives, get_connection
from django.test import Client


def _send(settings, tmp_path):
    settings.DEV_OUTBOX_DIR = tmp_path / "mail"
    message = EmailMultiAlternatives(
        "Welcome to Acme",
        "Plain words",
        "desk@acme.example",
        ["carol@acme-co.example"],
        connection=get_connection("helpdesk.mail.DevOutboxBackend"),
    )
    message.attach_alternative('<p>Hi <a href="http://acme.localhost/">go</a></p>', "text/html")
    message.send()


def test_debug_outbox_lists_and_shows_sent_mail(acme, settings, tmp_path):
    settings.DEBUG = True
    settings.EMAIL_BACKEND = "helpdesk.mail.DevOutboxBackend"
    _send(settings, tmp_path)
    client = Client(HTTP_HOST=acme.host)
    listing = client.get("/dev/mail/")
    assert listing.status_code == 200
    assert "Welcome to Acme" in listing.content.decode()
    name = listing.context["messages"][0]["name"]
    detail = client.get(f"/dev/mail/{name}/").content.decode()
    assert "Plain words" in detail and "carol@acme-co.example" in detail
    assert 'sandbox="allow-popups' in detail  # the HTML runs in a sandboxed frame
    assert client.get("/dev/mail/", {"to": "nobody@"}).context["messages"] == []
    assert client.get("/dev/mail/../../etc/passwd/").status_code == 404


def test_outbox_does_not_exist_without_debug(acme, settings, tmp_path):
    _send(settings, tmp_path)
    assert Client(HTTP_HOST=acme.host).get("/dev/mail/").status_code == 404

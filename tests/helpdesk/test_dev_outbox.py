"""With DEBUG, mail lands in a local outbox a person trying the demo can read: each
desk's host shows that desk's mail only, and nothing exists without DEBUG."""

import re

import pytest
from django.core.mail import EmailMultiAlternatives, get_connection
from django.test import Client

from helpdesk.mail import outbox_folder
from helpdesk.tenancy import tenant_scope

PLATFORM_HOST = "localhost"


@pytest.fixture
def outbox(settings, tmp_path):
    settings.DEBUG = True
    settings.EMAIL_BACKEND = "helpdesk.mail.DevOutboxBackend"
    settings.DEV_OUTBOX_DIR = tmp_path / "mail"
    return tmp_path / "mail"


def _send(subject, to, *, tenant=None, body="Plain words"):
    message = EmailMultiAlternatives(
        subject,
        body,
        "desk@acme.example",
        [to],
        connection=get_connection("helpdesk.mail.DevOutboxBackend"),
    )
    message.attach_alternative(f'<p style="color: #333">{body} <a href="/">go</a></p>', "text/html")
    if tenant is None:
        message.send()
    else:
        with tenant_scope(tenant):
            message.send()


def _names(client) -> list[str]:
    return [m["name"] for m in client.get("/dev/mail/").context["messages"]]


def test_debug_outbox_lists_and_shows_the_desks_mail(acme, outbox):
    _send("Welcome to Acme", "carol@acme-co.example", tenant=acme.tenant)
    client = Client(HTTP_HOST=acme.host)
    listing = client.get("/dev/mail/")
    assert listing.status_code == 200
    assert "Welcome to Acme" in listing.content.decode()
    name = listing.context["messages"][0]["name"]
    detail = client.get(f"/dev/mail/{name}/").content.decode()
    assert "Plain words" in detail and "carol@acme-co.example" in detail
    # The HTML runs in a sandboxed frame, a document of its own with its own policy.
    assert 'sandbox="allow-popups' in detail and f'src="/dev/mail/{name}/html/"' in detail
    body = client.get(f"/dev/mail/{name}/html/")
    assert body.status_code == 200 and 'style="color: #333"' in body.content.decode()
    policy = body["Content-Security-Policy"]
    assert "sandbox" in policy and "script-src" not in policy and "default-src 'none'" in policy
    assert "style-src 'unsafe-inline'" in policy and "frame-ancestors 'self'" in policy
    assert body["X-Frame-Options"] == "SAMEORIGIN"
    assert client.get("/dev/mail/", {"to": "nobody@"}).context["messages"] == []
    assert client.get("/dev/mail/../../etc/passwd/").status_code == 404


def test_mail_is_filed_under_the_desk_whose_scope_sent_it(acme, globex, outbox):
    _send("For Acme", "a@acme.example", tenant=acme.tenant)
    _send("For Globex", "g@globex.example", tenant=globex.tenant)
    _send("For the platform", "op@platform.example")
    assert len(list(outbox_folder(acme.tenant).glob("*.eml"))) == 1
    assert len(list(outbox_folder(globex.tenant).glob("*.eml"))) == 1
    assert len(list(outbox_folder(None).glob("*.eml"))) == 1


def test_a_desks_host_neither_lists_nor_opens_another_desks_mail(acme, globex, outbox):
    _send("Reset your Globex password", "g@globex.example", tenant=globex.tenant)
    _send("Welcome to Acme", "a@acme.example", tenant=acme.tenant)
    acme_client, globex_client = Client(HTTP_HOST=acme.host), Client(HTTP_HOST=globex.host)
    [globex_name] = _names(globex_client)
    [acme_name] = _names(acme_client)
    listing = acme_client.get("/dev/mail/").content.decode()
    assert "Reset your Globex password" not in listing and "Welcome to Acme" in listing
    # Knowing (or guessing) the name of another desk's message opens nothing.
    for path in (f"/dev/mail/{globex_name}/", f"/dev/mail/{globex_name}/html/"):
        assert acme_client.get(path).status_code == 404
        assert globex_client.get(path).status_code == 200
    assert globex_client.get(f"/dev/mail/{acme_name}/").status_code == 404
    # Nor does a path that tries to climb into its folder.
    folder = outbox_folder(globex.tenant).name
    for name in (f"..%2F{folder}%2F{globex_name}", f"../{folder}/{globex_name}", "x" * 30):
        assert acme_client.get(f"/dev/mail/{name}/").status_code == 404


def test_the_platform_host_shows_only_mail_sent_outside_any_desk(acme, outbox):
    _send("Welcome to Acme", "a@acme.example", tenant=acme.tenant)
    _send("Server error", "op@platform.example")
    client = Client(HTTP_HOST=PLATFORM_HOST)
    listing = client.get("/dev/mail/").content.decode()
    assert "Server error" in listing and "Welcome to Acme" not in listing
    [acme_name] = _names(Client(HTTP_HOST=acme.host))
    assert client.get(f"/dev/mail/{acme_name}/").status_code == 404


def test_a_password_reset_link_shows_on_its_own_desk_only(
    acme, globex, outbox, django_capture_on_commit_callbacks
):
    """The real path: allauth's email goes through the outbox and a tenant task."""
    client = Client(HTTP_HOST=acme.host)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/accounts/password/reset/", {"email": acme.customer.email})
    assert response.status_code == 302
    [name] = _names(client)
    text = client.get(f"/dev/mail/{name}/").content.decode()
    assert re.search(r"/accounts/password/reset/key/[\w-]+/", text)
    assert _names(Client(HTTP_HOST=globex.host)) == []
    assert Client(HTTP_HOST=globex.host).get(f"/dev/mail/{name}/").status_code == 404


def test_anyone_on_the_desks_host_reads_its_outbox(acme, outbox):
    """A developer's tool: the mail it exists for (sign-up verification, a password
    reset) is read before signing in, so within a desk it asks for no sign-in."""
    _send("Verify your address", "new@acme-co.example", tenant=acme.tenant)
    for client in (acme.client(), acme.client(acme.other_customer), acme.client(acme.agent)):
        assert [m["subject"] for m in client.get("/dev/mail/").context["messages"]] == [
            "Verify your address"
        ]


@pytest.mark.parametrize("method", ["get", "post", "put", "delete"])
def test_outbox_answers_404_to_everything_without_debug(acme, settings, tmp_path, method):
    settings.DEV_OUTBOX_DIR = tmp_path / "mail"
    _send("Welcome to Acme", "carol@acme-co.example", tenant=acme.tenant)
    [name] = [p.stem for p in outbox_folder(acme.tenant).glob("*.eml")]
    settings.EMAIL_BACKEND = "helpdesk.mail.DevOutboxBackend"  # DEBUG alone decides
    for host in (acme.host, PLATFORM_HOST):
        client = Client(HTTP_HOST=host)
        for path in ("/dev/mail/", f"/dev/mail/{name}/", f"/dev/mail/{name}/html/"):
            assert getattr(client, method)(path).status_code == 404, (host, method, path)


def test_outbox_answers_404_with_debug_but_another_mail_backend(acme, settings):
    settings.DEBUG = True
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert Client(HTTP_HOST=acme.host).get("/dev/mail/").status_code == 404


def test_the_outbox_reads_in_chinese(acme, outbox):
    body = Client(HTTP_HOST=acme.host).get("/dev/mail/", HTTP_ACCEPT_LANGUAGE="zh-CN")
    assert "本帮助台的邮件会保存在这里" in body.content.decode()
    body = Client(HTTP_HOST=PLATFORM_HOST).get("/dev/mail/", HTTP_ACCEPT_LANGUAGE="zh-CN")
    assert "不属于任何帮助台的邮件会保存在这里" in body.content.decode()

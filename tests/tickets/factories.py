from django.core.files.uploadedfile import SimpleUploadedFile

from tickets.models import Category, Message, Priority, Ticket
from tickets.services import Upload, ticket_create, ticket_update


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


def refresh(desk, ticket) -> Ticket:
    with desk.scope():
        ticket.refresh_from_db()
    return ticket


def message_count(desk, ticket) -> int:
    with desk.scope():
        return Message.objects.filter(ticket=ticket).count()


def set_fields(desk, ticket, **fields) -> Ticket:
    """Change a ticket as the desk's agent would (status, priority, assignee, ...)."""
    with desk.scope():
        return ticket_update(ticket=ticket, actor=desk.agent, **fields)


def category(desk, name: str) -> Category:
    with desk.scope():
        return Category.objects.get(name=name)

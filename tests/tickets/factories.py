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


def reply_to(desk, ticket, user) -> str:
    """The Reply-To address `user` gets in an email about `ticket` (their own token)."""
    from tickets.reply_tokens import reply_address, reply_token_issue

    with desk.scope():
        return reply_address(reply_token_issue(ticket=ticket, user=user))


# Our receiving mail server in the tests, and the verdicts it writes into mail.
OUR_MAIL_SERVER = "mx.helpdesk.test"


def authentication_results(sender: str, dmarc: str, *, server: str = OUR_MAIL_SERVER) -> str:
    domain = sender.rpartition("@")[2]
    return f"{server}; dmarc={dmarc} header.from={domain}; spf=pass smtp.mailfrom={domain}"

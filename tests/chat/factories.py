from chat.models import Chat
from tests.tickets.factories import make_ticket
from tickets.models import Channel


def make_chat(desk, customer=None, *, subject="Stuck at checkout", agent=None) -> Chat:
    """A chat row as the walks need one, whatever the customer's plan (the rules of
    starting one are tests/chat/test_chat.py's)."""
    customer = customer or desk.customer
    ticket = make_ticket(desk, customer, subject=subject, body=subject, channel=Channel.CHAT)
    with desk.scope():
        return Chat.objects.create(
            tenant=desk.tenant,
            ticket=ticket,
            customer=customer,
            agent=agent,
            state=Chat.State.ACTIVE if agent else Chat.State.QUEUED,
        )

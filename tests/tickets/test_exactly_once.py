"""A ticket's emails go out exactly once when the worker handling them is SIGKILLed,
with real `celery worker` processes on the real broker (tests/processes.py).

The customer files a request; its emails (the acknowledgement, a notice to each staff
member) are an outbox job of the request's transaction. The worker dies in the middle,
a second worker takes over, with the task Redis hands back, and the sweep.
"""

import time
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from helpdesk.models import OutboundEmail, OutboxJob
from helpdesk.outbox import outbox_sweep
from tests.processes import Worker, sent_files, unacknowledged_tasks, wait_for
from tests.tickets.factories import make_ticket

pytestmark = pytest.mark.django_db(transaction=True)


def recipients(outbox) -> list[str]:
    """Whom each sent message went to, one entry per message."""
    import email

    return sorted(
        str(email.message_from_bytes(path.read_bytes())["To"]) for path in sent_files(outbox)
    )


def everyone(acme) -> list[str]:
    return sorted([acme.customer.email, acme.agent.email, acme.admin.email])


def settled(acme) -> bool:
    with acme.scope():
        return (
            not OutboxJob.objects.exists()
            and not OutboundEmail.objects.filter(status=OutboundEmail.Status.QUEUED).exists()
        )


def test_a_worker_killed_while_rendering_a_tickets_emails_loses_and_doubles_nothing(
    acme, queue, tmp_path
):
    outbox = tmp_path / "outbox"
    dying = Worker(outbox, kill="while-queueing")
    try:
        ticket = make_ticket(acme)  # committed; its wake-up goes to the broker
        assert dying.wait_killed() == -9  # inside the job's transaction
    finally:
        dying.stop()
    # Killed before the commit: the job is still there, no email was stored or sent.
    with acme.scope():
        assert OutboxJob.objects.count() == 1
        assert not OutboundEmail.objects.exists()
    assert sent_files(outbox) == []
    assert unacknowledged_tasks() == 1

    second = Worker(outbox, visibility_timeout=1)
    try:
        # The beat's sweep, once the wake-up's grace is over, hands the job out again,
        # while Redis also hands back the dead worker's task: both reach the worker.
        with time_machine.travel(timezone.now() + timedelta(minutes=1), tick=False):
            assert outbox_sweep()["jobs"] == 1
        wait_for(lambda: settled(acme), message="the ticket's emails")
        wait_for(lambda: unacknowledged_tasks() == 0, message="the dead worker's task")
        wait_for(lambda: len(sent_files(outbox)) >= 3, message="three emails")
        time.sleep(2)  # let any duplicate run through
    finally:
        second.stop()
    assert recipients(outbox) == everyone(acme)
    with acme.scope():
        assert OutboundEmail.objects.filter(status=OutboundEmail.Status.SENT).count() == 3
        assert ticket.number == 1


def test_a_worker_killed_right_after_sending_one_of_them_sends_none_twice(acme, queue, tmp_path):
    outbox = tmp_path / "outbox"
    dying = Worker(outbox, kill="after-send")
    try:
        make_ticket(acme)
        assert dying.wait_killed() == -9  # right after the first email left
    finally:
        dying.stop()
    assert len(sent_files(outbox)) == 1
    second = Worker(outbox, visibility_timeout=1)
    try:
        with time_machine.travel(timezone.now() + timedelta(minutes=1), tick=False):
            outbox_sweep()
        wait_for(lambda: settled(acme), message="the other emails")
        wait_for(lambda: unacknowledged_tasks() == 0, message="the dead worker's task")
        wait_for(lambda: len(sent_files(outbox)) >= 3, message="three emails")
        time.sleep(2)  # let any duplicate run through
    finally:
        second.stop()
    # Each person got one email; the one in flight at the kill is not sent again.
    assert recipients(outbox) == everyone(acme)
    with acme.scope():
        statuses = sorted(OutboundEmail.objects.values_list("status", flat=True))
    assert statuses == ["sending", "sent", "sent"]

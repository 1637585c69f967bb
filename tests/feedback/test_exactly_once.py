"""Survey emails go out exactly once, with real worker processes on the real broker.

Each test runs `celery worker` as a separate process against the test database and
Redis, kills it with SIGKILL at a chosen moment, then lets a second worker pick up
what the first left: the task Redis redelivers, a duplicate of it, and the beat's
next run. Mail lands as .eml files in a folder, so every message sent is counted.
"""

import time
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from django.conf import settings
from django.utils import timezone

from feedback.models import CsatSurvey, SurveyStatus
from feedback.tasks import send_csat_surveys, send_csat_surveys_for
from helpdesk.models import OutboundEmail
from helpdesk.outbox import outbox_sweep
from helpdesk.tasks import deliver_email, sweep_outbox
from tests.feedback.helpers import solved_ticket, survey_of
from tests.processes import Worker, sent_files, unacknowledged_tasks, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def due_survey(acme):
    ticket = solved_ticket(acme)
    with acme.scope():
        CsatSurvey.objects.filter(ticket=ticket).update(
            send_at=timezone.now() - timedelta(minutes=1)
        )
    return ticket


def survey_emails(acme, outbox: Path) -> list[Path]:
    return [path for path in sent_files(outbox) if acme.customer.email in path.read_text()]


def test_a_worker_killed_after_sending_never_sends_a_second_email(
    acme, due_survey, queue, tmp_path
):
    outbox = tmp_path / "outbox"
    dying = Worker(outbox, kill="after-send")
    try:
        send_csat_surveys_for.delay(acme.tenant.pk)
        assert dying.wait_killed() == -9  # SIGKILL, right after the message left
    finally:
        dying.stop()
    assert unacknowledged_tasks() == 1  # the delivery task it died in
    assert len(survey_emails(acme, outbox)) == 1
    with acme.scope():
        email = OutboundEmail.objects.get(
            dedupe_key__startswith=f"csat:{survey_of(acme, due_survey).pk}:"
        )
    # Its delivery task was never acknowledged. A second worker gets it again from
    # Redis (after the short visibility timeout), plus a duplicate and the beat's runs.
    second = Worker(outbox, visibility_timeout=1)
    try:
        deliver_email.delay(acme.tenant.pk, email.pk)
        send_csat_surveys_for.delay(acme.tenant.pk)
        send_csat_surveys.delay()
        sweep_outbox.delay()
        wait_for(
            lambda: unacknowledged_tasks() == 0,
            message="the broker to hand back the dead worker's task",
        )
        time.sleep(2)  # let the duplicates run through
    finally:
        second.stop()
    assert len(survey_emails(acme, outbox)) == 1
    assert survey_of(acme, due_survey).status == SurveyStatus.SENT
    with acme.scope():
        email.refresh_from_db()
    # The send was not recorded before the kill: the delivery log shows it as
    # "sending" (it may have left), and nothing sends it again.
    assert email.status == OutboundEmail.Status.SENDING
    # Once no task could still be sending it, the sweep marks its delivery unknown,
    # for an admin to check with the recipient; it still sends nothing.
    late = email.claimed_at + timedelta(seconds=settings.EMAIL_SENDING_UNKNOWN_AFTER)
    with time_machine.travel(late - timedelta(seconds=5), tick=False):
        assert outbox_sweep()["unknown"] == 0
    with time_machine.travel(late + timedelta(seconds=5), tick=False):
        assert outbox_sweep()["unknown"] == 1
    with acme.scope():
        email.refresh_from_db()
    assert email.status == OutboundEmail.Status.UNKNOWN
    assert len(survey_emails(acme, outbox)) == 1


def test_a_worker_killed_before_sending_loses_nothing(acme, due_survey, queue, tmp_path):
    outbox = tmp_path / "outbox"
    dying = Worker(outbox, kill="while-queueing")
    try:
        send_csat_surveys_for.delay(acme.tenant.pk)
        assert dying.wait_killed() == -9
    finally:
        dying.stop()
    assert unacknowledged_tasks() == 1  # the survey task it died in
    # Killed inside the survey's transaction: nothing was sent or recorded as sent.
    assert sent_files(outbox) == []
    assert survey_of(acme, due_survey).status == SurveyStatus.SCHEDULED
    second = Worker(outbox, visibility_timeout=1)
    try:
        send_csat_surveys.delay()  # the beat's next run
        wait_for(lambda: survey_emails(acme, outbox), message="the survey email")
        send_csat_surveys_for.delay(acme.tenant.pk)  # a duplicate
        wait_for(
            lambda: unacknowledged_tasks() == 0,
            message="the broker to hand back the dead worker's task",
        )
        time.sleep(2)
    finally:
        second.stop()
    assert len(survey_emails(acme, outbox)) == 1
    survey = survey_of(acme, due_survey)
    assert survey.status == SurveyStatus.SENT
    with acme.scope():
        assert OutboundEmail.objects.get(dedupe_key__startswith=f"csat:{survey.pk}:").status == (
            OutboundEmail.Status.SENT
        )

"""Survey emails go out exactly once, with real worker processes on the real broker.

Each test runs `celery worker` as a separate process against the test database and
Redis, kills it with SIGKILL at a chosen moment, then lets a second worker pick up
what the first left: the task Redis redelivers, a duplicate of it, and the beat's
next run. Mail lands as .eml files in a folder, so every message sent is counted.
"""

import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from feedback.models import CsatSurvey, SurveyStatus
from feedback.tasks import send_csat_surveys, send_csat_surveys_for
from helpdesk.celery import app as celery_app
from helpdesk.models import OutboundEmail
from helpdesk.tasks import deliver_email, deliver_stalled_emails
from tests.feedback.helpers import solved_ticket, survey_of

pytestmark = pytest.mark.django_db(transaction=True)


class Worker:
    def __init__(self, outbox: Path, *, kill: str = "", visibility_timeout: float = 3600):
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.feedback.dying_worker",
            "WORKER_DATABASE_NAME": connection.settings_dict["NAME"],
            "WORKER_OUTBOX": str(outbox),
            "WORKER_VISIBILITY_TIMEOUT": str(visibility_timeout),
            "KILL_WORKER": kill,
        }
        command = [sys.executable, "-m", "celery", "-A", "helpdesk", "worker", "--pool", "solo"]
        command += ["--loglevel", "WARNING", "--without-gossip", "--without-mingle"]
        self.process = subprocess.Popen(command, cwd=settings.BASE_DIR, env=env)

    def wait_killed(self, timeout: float = 60) -> int:
        return self.process.wait(timeout=timeout)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)


def wait_for(condition, timeout: float = 60, message: str = ""):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting: {message}")


def unacknowledged_tasks() -> int:
    """Tasks a worker took from Redis and has not acknowledged (kombu's "unacked" hash)."""
    with celery_app.connection() as conn:
        return conn.default_channel.client.hlen("unacked")


def sent_files(outbox: Path) -> list[Path]:
    return sorted(outbox.glob("*.eml")) if outbox.exists() else []


@pytest.fixture
def queue(transactional_db):
    """Tasks go to the real broker; leftovers of earlier runs are purged first."""
    celery_app.conf.task_always_eager = False
    celery_app.control.purge()
    yield
    celery_app.control.purge()


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
        deliver_stalled_emails.delay()
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

"""A real Celery worker process for the exactly-once tests, and ways to kill it.

`python -m celery -A helpdesk worker` with DJANGO_SETTINGS_MODULE pointing here
runs the project's settings against the test database, delivers mail into a
folder of .eml files (the dev outbox backend), and, depending on KILL_WORKER,
kills itself with SIGKILL at a chosen moment, as the OOM killer would:

- "after-send": right after the mail backend wrote the message;
- "while-queueing": as the survey's email is stored, before its transaction commits.
"""

import os
import signal

from django.apps import AppConfig

from helpdesk.mail import DevOutboxBackend
from helpdesk.settings import *  # noqa: F403
from helpdesk.settings import CELERY_BROKER_TRANSPORT_OPTIONS, DATABASES, INSTALLED_APPS

DATABASES["default"]["NAME"] = os.environ["WORKER_DATABASE_NAME"]
INSTALLED_APPS = [*INSTALLED_APPS, "tests.feedback.dying_worker.DyingWorkerConfig"]
EMAIL_BACKEND = "tests.feedback.dying_worker.OutboxThenDie"
DEV_OUTBOX_DIR = os.environ["WORKER_OUTBOX"]
# How soon the broker hands a task of a dead worker to another (Redis redelivers
# unacknowledged tasks after this timeout).
CELERY_BROKER_TRANSPORT_OPTIONS = {
    **CELERY_BROKER_TRANSPORT_OPTIONS,
    "visibility_timeout": float(os.environ.get("WORKER_VISIBILITY_TIMEOUT", "3600")),
}


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


class OutboxThenDie(DevOutboxBackend):
    def send_messages(self, email_messages):
        sent = super().send_messages(email_messages)
        if os.environ.get("KILL_WORKER") == "after-send":
            _die()
        return sent


def _die_while_queueing(sender, instance, created, **kwargs):
    if created and os.environ.get("KILL_WORKER") == "while-queueing":
        _die()


class DyingWorkerConfig(AppConfig):
    name = "tests.feedback"
    label = "tests_feedback_dying_worker"

    def ready(self):
        from django.db.models.signals import post_save

        from helpdesk.models import OutboundEmail

        post_save.connect(_die_while_queueing, sender=OutboundEmail)

"""Settings for real Celery worker and beat processes started by tests (tests/processes.py).

`python -m celery -A helpdesk worker` with DJANGO_SETTINGS_MODULE pointing here runs
the project's settings against the test database (WORKER_DATABASE_NAME), on the
broker REDIS_URL names, delivering mail into a folder of .eml files (the dev outbox
backend, WORKER_OUTBOX). Depending on KILL_WORKER, it kills itself with SIGKILL at a
chosen moment, as the OOM killer would:

- "after-send": right after the mail backend wrote a message;
- "while-queueing": as an email is stored, before its transaction commits (inside a
  survey's transaction, or inside an outbox job rendering a ticket's emails);
- "while-rolling-up": after a desk's dashboard rollups were rebuilt, before the
  refresh's transaction commits (feedback/rollups.py).
"""

import os
import signal

from django.apps import AppConfig

from helpdesk.mail import DevOutboxBackend
from helpdesk.settings import *  # noqa: F403
from helpdesk.settings import CELERY_BROKER_TRANSPORT_OPTIONS, DATABASES, INSTALLED_APPS

DATABASES["default"]["NAME"] = os.environ["WORKER_DATABASE_NAME"]
INSTALLED_APPS = [*INSTALLED_APPS, "tests.worker_settings.DyingWorkerConfig"]
EMAIL_BACKEND = "tests.worker_settings.OutboxThenDie"
DEV_OUTBOX_DIR = os.environ["WORKER_OUTBOX"]
# How soon the broker hands a task of a dead worker to another (Redis redelivers
# unacknowledged tasks after this timeout).
CELERY_BROKER_TRANSPORT_OPTIONS = {
    **CELERY_BROKER_TRANSPORT_OPTIONS,
    "visibility_timeout": float(
        os.environ.get(
            "WORKER_VISIBILITY_TIMEOUT", CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]
        )
    ),
    "unacked_restore_interval": 1,
    "unacked_restore_throttle": 1,
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
    name = "tests"
    label = "tests_dying_worker"

    def ready(self):
        from django.db.models.signals import post_save

        from helpdesk.models import OutboundEmail

        post_save.connect(_die_while_queueing, sender=OutboundEmail)
        if os.environ.get("KILL_WORKER") == "while-rolling-up":
            from feedback import rollups

            rebuild = rollups._rebuild

            def rebuild_then_die(*args, **kwargs):
                rebuild(*args, **kwargs)
                _die()

            rollups._rebuild = rebuild_then_die

"""Settings refuse to run without a secret, except for commands that sign nothing."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _run(*args):
    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "DEBUG")}
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )  # fmt: skip


def test_migrations_are_in_step_with_the_models_and_need_no_secret():
    result = _run("manage.py", "makemigrations", "--check", "--dry-run")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No changes detected" in result.stdout


def test_the_app_refuses_to_start_without_a_secret():
    # What gunicorn and Celery do: set up Django from the settings module.
    result = _run(
        "-c",
        "import os, django; os.environ['DJANGO_SETTINGS_MODULE'] = 'helpdesk.settings'; "
        "django.setup(); print('started')",
    )
    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off." in result.stderr
    assert "started" not in result.stdout

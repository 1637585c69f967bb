"""Settings for the benchmark: production settings, served over plain HTTP on 127.0.0.1.

The app's settings with DEBUG off (secure cookies, manifest static files, SMTP
backend); only what plain HTTP on a loopback port and a throwaway database need
is changed. The database must be a `*_bench` one, so a benchmark run can never
write into the dev or test data.
"""

from django.core.exceptions import ImproperlyConfigured

from helpdesk.settings import *  # noqa: F403
from helpdesk.settings import BASE_DIR, DATABASES

if not DATABASES["default"]["NAME"].endswith("_bench"):
    raise ImproperlyConfigured(
        "bench.settings only runs against a database whose name ends in _bench "
        f"(DATABASE_URL names {DATABASES['default']['NAME']!r})."
    )

# Plain HTTP on 127.0.0.1: no TLS proxy in front, so cookies cannot be Secure.
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
LANGUAGE_COOKIE_SECURE = False

# The tenant URLs plus one bare JSON view, the baseline for the API's throughput.
ROOT_URLCONF = "bench.urls"

# Files of the benchmark stay apart from those of `make run`.
BENCH_DATA_DIR = BASE_DIR / ".data" / "bench"
STATIC_ROOT = BENCH_DATA_DIR / "static"
MEDIA_ROOT = BENCH_DATA_DIR / "media"
# Email is queued in the outbox (rows + Celery tasks) as in production; no worker
# runs during the benchmark, and nothing may ever be delivered from it.
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"

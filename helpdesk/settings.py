"""The one settings module, configured from environment variables.

Defaults are safe for production (DEBUG off, secure cookies); `make run` asks
for DEBUG explicitly. See the configuration table in README.md.
"""

import ipaddress
import re
import sys
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from helpdesk import devstack
from helpdesk.env import env_bool, env_float, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DEBUG", default=False)
# Management commands that never sign or encrypt anything may run (in CI, in a build
# step) without the production secret; serving, workers and every other command
# refuse to start without one.
OFFLINE_COMMANDS = frozenset(
    {
        "check",
        "collectstatic",
        "compilemessages",
        "makemessages",
        "makemigrations",
        "showmigrations",
        "spectacular",
    }
)
_command = sys.argv[1] if Path(sys.argv[0]).name == "manage.py" and len(sys.argv) > 1 else ""
SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not (DEBUG or _command in OFFLINE_COMMANDS):
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = "insecure-key-for-DEBUG-and-offline-commands-only"

# Tenants live at <slug>.<BASE_DOMAIN> or at a custom domain mapped in admin;
# BASE_DOMAIN itself serves the platform operator's admin.
BASE_DOMAIN = env_str("BASE_DOMAIN", "localhost").lower()
# The tenant middleware answers unknown hosts with a 404 before any view runs,
# so host validation happens there; custom domains are data, not settings.
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["*"])
# The port in links we write into emails, when the site is not served on 80/443.
PUBLIC_PORT = env_str("PUBLIC_PORT")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "helpdesk.apps.HelpdeskAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.postgres",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "helpdesk",
    "plans",
    "tickets",
    "sla",
    "knowledge",
    "feedback",
    "success",
    "channels",
    "chat",
    "phone",
    "routing",
    "webhooks",
    "rules",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Outside everything that answers: the Content-Security-Policy and Cache-Control of
    # every page, error pages included (the 400, 404 and 503 pages; static files keep
    # their caching).
    "helpdesk.security.SecurityHeadersMiddleware",
    # Before anything reads the request: text nothing here can store is a 400
    # (helpdesk/input_guard.py). After SecurityMiddleware, whose headers the 400 gets.
    "helpdesk.input_guard.InputGuardMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Outside everything that may query: turns a database outage into a 503 page.
    "helpdesk.outage.DatabaseOutageMiddleware",
    "helpdesk.middleware.TenantMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "helpdesk.middleware.MembershipMiddleware",
    "helpdesk.middleware.TenantLocaleMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # After everything that says who is asking (the user, the membership, the language):
    # staff of a desk that requires a second factor, and platform operators, use nothing
    # until they have one and this session passed it (helpdesk/second_factor.py).
    "helpdesk.second_factor.SecondFactorMiddleware",
]

ROOT_URLCONF = "helpdesk.urls"
PLATFORM_URLCONF = "helpdesk.urls_platform"
WSGI_APPLICATION = "helpdesk.wsgi.application"
ASGI_APPLICATION = "helpdesk.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "helpdesk.context_processors.tenancy",
                "helpdesk.second_factor.template_context",
            ],
        },
    },
]

# -- data stores --------------------------------------------------------------------------

# -- serving (see docs/operations.md for the arithmetic) -----------------------------------

# gunicorn (helpdesk/gunicorn_conf.py): processes, each with this many request threads.
WEB_PROCESSES = env_int("WEB_PROCESSES", 2)
WEB_THREADS = env_int("WEB_THREADS", 8)
# Restart the web processes when a source file changes (development only: it polls).
WEB_RELOAD = env_bool("WEB_RELOAD", default=False)
# Threads per process that run independent read-only queries side by side, each on
# its own connection (helpdesk/side_by_side.py; the insights dashboard's panels).
# 0 turns it off.
SIDE_BY_SIDE_THREADS = env_int("SIDE_BY_SIDE_THREADS", 3)
# Websocket consumers reach the database from one thread per process (Channels'
# database_sync_to_async, thread-sensitive), one connection at a time.
SOCKET_THREADS = 1
# Celery worker processes (prefork): each runs one task at a time.
CELERY_WORKER_CONCURRENCY = env_int("WORKER_CONCURRENCY", 2)
for _name, _value, _least in (
    ("WEB_PROCESSES", WEB_PROCESSES, 1),
    ("WEB_THREADS", WEB_THREADS, 1),
    ("SIDE_BY_SIDE_THREADS", SIDE_BY_SIDE_THREADS, 0),
    ("WORKER_CONCURRENCY", CELERY_WORKER_CONCURRENCY, 1),
):
    if _value < _least:
        raise ImproperlyConfigured(f"{_name}={_value} must be at least {_least}.")

# -- data stores --------------------------------------------------------------------------

DATABASE_URL = env_str("DATABASE_URL") or devstack.embedded_database_url()
DATABASES = {"default": dj_database_url.parse(DATABASE_URL)}
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# Each process borrows connections from a pool of its own (psycopg_pool) for the length
# of a request or a side-by-side piece, and gives them back after: at most
# DB_POOL_MAX_SIZE per process, whatever the number of threads that come and go.
DB_POOL = env_bool("DB_POOL", default=True)
if DB_POOL:
    if env_int("DB_CONN_MAX_AGE", 0) != 0:
        raise ImproperlyConfigured(
            "DB_CONN_MAX_AGE applies only with DB_POOL=0: the pool keeps the connections."
        )
    DATABASES["default"]["CONN_MAX_AGE"] = 0  # a request gives its connection back
    # Every request thread, every side-by-side thread and the websockets' thread
    # (SOCKET_THREADS) may hold one at once: with fewer, requests waiting for their
    # panels could take the connections the panels need.
    _pool_needs = WEB_THREADS + SIDE_BY_SIDE_THREADS + SOCKET_THREADS
    DB_POOL_MIN_SIZE = env_int("DB_POOL_MIN_SIZE", 1)
    DB_POOL_MAX_SIZE = env_int("DB_POOL_MAX_SIZE", _pool_needs)
    # Seconds a request waits for a connection before it gets the 503 page: connections
    # are never short by design, so a wait this long means the database is not answering.
    DB_POOL_TIMEOUT = env_float("DB_POOL_TIMEOUT", 5.0)
    if not 0 <= DB_POOL_MIN_SIZE <= DB_POOL_MAX_SIZE:
        raise ImproperlyConfigured(
            f"DB_POOL_MIN_SIZE={DB_POOL_MIN_SIZE} must be between 0 and "
            f"DB_POOL_MAX_SIZE={DB_POOL_MAX_SIZE}."
        )
    if _pool_needs > DB_POOL_MAX_SIZE:
        raise ImproperlyConfigured(
            f"DB_POOL_MAX_SIZE={DB_POOL_MAX_SIZE} is less than WEB_THREADS + "
            f"SIDE_BY_SIDE_THREADS + 1 (websockets) = {_pool_needs}: each of those threads "
            f"may hold a connection."
        )
    if DB_POOL_TIMEOUT <= 0:
        raise ImproperlyConfigured(f"DB_POOL_TIMEOUT={DB_POOL_TIMEOUT} must be positive.")
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": DB_POOL_MIN_SIZE,
        "max_size": DB_POOL_MAX_SIZE,
        "timeout": DB_POOL_TIMEOUT,
        # When the database is down the pool retries a connection with growing pauses
        # (1, 2, 4 ... s) for this long, then gives up until the next request asks: with
        # the default five minutes the pauses would reach a minute, and pages would stay
        # 503 for up to a minute after the database is back.
        "reconnect_timeout": DB_POOL_TIMEOUT,
    }
else:
    # Without the pool each thread keeps its own connection this many seconds.
    DATABASES["default"]["CONN_MAX_AGE"] = env_int("DB_CONN_MAX_AGE", 60)
# TEST_DATABASE_NAME lets two test runs share one server without dropping each other's database.
DATABASES["default"]["TEST"] = {
    "NAME": env_str("TEST_DATABASE_NAME", f"test_{DATABASES['default']['NAME']}")
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env_str("REDIS_URL") or devstack.embedded_redis_url()
# Redis while it answers, a PostgreSQL table while it does not (helpdesk/cache.py):
# nothing a customer sends depends on Redis. Short socket timeouts, so a Redis that
# hangs instead of refusing costs a second, once, before the fallback takes over.
CACHES = {
    "default": {
        "BACKEND": "helpdesk.cache.FailoverCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "helpdesk",
        "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1, "RETRY_AFTER": 5},
    }
}
# Sessions live in PostgreSQL only: a session cached in Redis could outlive a logout
# made while Redis was unreachable, and reading one costs a primary-key lookup.
# (Django's db store, reporting a database outage while saving as one: helpdesk/sessions.py.)
SESSION_ENGINE = "helpdesk.sessions"

# Websockets meet through Redis publish/subscribe (channels-redis): a message is stored
# in PostgreSQL first, and the layer only tells the other side's process to send it, so a
# lost publication costs a reconnecting client one catch-up (chat/consumers.py), never
# the message. Pub/sub ignores Redis's database number, so the prefix carries it: the
# suite's sockets (Redis database 1) and `make run`'s (0) never hear each other.
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
        "CONFIG": {
            "hosts": [REDIS_URL],
            "prefix": f"helpdesk-{urlsplit(REDIS_URL).path.strip('/') or '0'}",
        },
    }
}

# -- Celery -------------------------------------------------------------------------------

CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = REDIS_URL
CELERY_RESULT_EXPIRES = 3600
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
# A task is acknowledged after it ran, and given back to the queue when its
# worker dies mid-way: tasks are written to be idempotent for this reason.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# No task may run longer than this (tasks split their work per tenant and in
# batches; the longest, a desk's daily health scores, takes seconds). Redis hands the
# task of a dead worker to another after the visibility timeout, which must outlast
# the longest run, or a task still running would be handed out a second time.
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 240)
CELERY_TASK_TIME_LIMIT = CELERY_TASK_SOFT_TIME_LIMIT + 30
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": CELERY_TASK_TIME_LIMIT + 30,
    # A broker that hangs instead of refusing must not hang a request's wake-up.
    "socket_connect_timeout": 2,
    "socket_timeout": 10,
    # Look for the tasks of dead workers every 30 s rather than every 100 s.
    "unacked_restore_interval": 10,
    "unacked_restore_throttle": 3,
}
# An email still `sending` this long after its claim was in the hands of a worker
# that died (no task outlives CELERY_TASK_TIME_LIMIT): its delivery is unknown.
EMAIL_SENDING_UNKNOWN_AFTER = CELERY_TASK_TIME_LIMIT + 60
CELERY_TIMEZONE = "UTC"
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_EAGER_PROPAGATES = True
# Seconds a new outbox row is left to its wake-up before the sweep delivers it.
OUTBOX_WAKE_UP_GRACE = env_int("OUTBOX_WAKE_UP_GRACE", 30)
CELERY_BEAT_SCHEDULE = {
    "close-solved-tickets": {"task": "tickets.tasks.close_solved_tickets", "schedule": 3600.0},
    # Suspended mail from strangers is kept 14 days (to the hour).
    "purge-suspended-emails": {"task": "tickets.tasks.purge_suspended_emails", "schedule": 3600.0},
    # Breaches are detected within a minute of their due time.
    "sla-sweep": {"task": "sla.tasks.sweep", "schedule": 60.0},
    # What lost wake-ups and failed attempts left in the outbox (helpdesk/outbox.py).
    "sweep-outbox": {
        "task": "helpdesk.tasks.sweep_outbox",
        "schedule": float(env_int("OUTBOX_SWEEP_SECONDS", 60)),
    },
    # Satisfaction surveys go out within a minute of their send time.
    "send-csat-surveys": {"task": "feedback.tasks.send_csat_surveys", "schedule": 60.0},
    "send-nps-surveys": {"task": "feedback.tasks.send_nps_surveys", "schedule": 3600.0},
    # Hourly, so each desk scores yesterday soon after its own midnight (once a day).
    "compute-health-scores": {"task": "success.tasks.compute_health", "schedule": 3600.0},
    # Chat offers not answered in time go to the next agent; chats of agents who went
    # quiet go back to the queue (chat/tasks.py).
    "chat-sweep": {"task": "chat.tasks.sweep", "schedule": 5.0},
    # Time-based automations (rules/): "pending for 48 hours", "SLA due within 30 minutes".
    "run-automations": {"task": "rules.tasks.run_automations", "schedule": 60.0},
    # Webhook deliveries whose wake-up was lost, whose back-off is over, or whose worker
    # died mid-request (webhooks/services.py).
    "sweep-webhooks": {"task": "webhooks.tasks.sweep_webhooks", "schedule": 60.0},
    # The insights dashboards' rollups of the days that changed (feedback/rollups.py).
    "refresh-rollups": {"task": "feedback.tasks.refresh_rollups", "schedule": 60.0},
}

# -- outbound webhooks (docs/webhooks.md) ---------------------------------------------------

# Networks that endpoints may reach although they are not public (private, loopback,
# link-local ...): comma-separated CIDRs, e.g. "10.20.0.0/16". Empty: public addresses only.
WEBHOOK_ALLOWED_PRIVATE_NETWORKS = env_list("WEBHOOK_ALLOWED_PRIVATE_NETWORKS", [])
for _network in WEBHOOK_ALLOWED_PRIVATE_NETWORKS:
    try:
        ipaddress.ip_network(_network, strict=False)
    except ValueError:
        raise ImproperlyConfigured(
            f"WEBHOOK_ALLOWED_PRIVATE_NETWORKS: {_network!r} is not a network (use CIDRs)."
        ) from None
# An endpoint is turned off after this many failed attempts in a row.
WEBHOOK_DISABLE_AFTER_FAILURES = env_int("WEBHOOK_DISABLE_AFTER_FAILURES", 10)
# Seconds to connect, and for the whole request (the answer included).
WEBHOOK_CONNECT_TIMEOUT = env_float("WEBHOOK_CONNECT_TIMEOUT", 5.0)
WEBHOOK_TIMEOUT = env_float("WEBHOOK_TIMEOUT", 10.0)

# -- accounts -----------------------------------------------------------------------------

AUTH_USER_MODEL = "helpdesk.User"
# User.email is unique case-insensitively (a UniqueConstraint on Lower(email)),
# which this check cannot see.
SILENCED_SYSTEM_CHECKS = ["auth.W004"]
# Each desk has its own people: sign-in and sessions see the host's desk only.
AUTHENTICATION_BACKENDS = ["helpdesk.auth_backends.DeskAuthenticationBackend"]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
PASSWORD_HASHERS = env_list(
    "PASSWORD_HASHERS",
    [
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    ],
)

ACCOUNT_ADAPTER = "helpdesk.adapters.AccountAdapter"
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_SIGNUP_FORM_CLASS = "helpdesk.forms.SignupForm"
# allauth's forms that look people up by email, seeing the host's desk only.
ACCOUNT_FORMS = {
    "signup": "helpdesk.account_forms.DeskSignupForm",
    "reset_password": "helpdesk.account_forms.DeskResetPasswordForm",
}
ACCOUNT_EMAIL_VERIFICATION = env_str("ACCOUNT_EMAIL_VERIFICATION", "mandatory")
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_LOGOUT_REDIRECT_URL = "account_login"
ACCOUNT_EMAIL_SUBJECT_PREFIX = ""
ACCOUNT_RATE_LIMITS = {"login_failed": "10/m/ip,5/5m/key"}
# Tell people by email when their password, addresses or second factors change (from their
# desk, through the outbox): a change they did not make does not go unnoticed.
ACCOUNT_EMAIL_NOTIFICATIONS = True
LOGIN_URL = "account_login"

# Two-factor sign-in (allauth.mfa, docs/sign-in.md): an authenticator app (TOTP), security
# keys (WebAuthn), and recovery codes for when neither is at hand; open to everyone from
# /accounts/2fa/. Each desk may require it of its agents and admins (Tenant.require_staff_mfa).
MFA_ADAPTER = "helpdesk.adapters.MFAAdapter"
MFA_SUPPORTED_TYPES = ["totp", "webauthn", "recovery_codes"]
# A security key is a second factor only: signing in with a passkey instead of a password
# (allauth's passkey login) stays off.
MFA_PASSKEY_LOGIN_ENABLED = False
# No "trust this browser" cookie: a session passes the second factor at sign-in, each time.
MFA_TRUST_ENABLED = False
# Platform operators (superusers on the platform host) must have a second factor and pass
# it before the platform admin opens. Off by default only with DEBUG (`make run`'s demo).
PLATFORM_REQUIRE_MFA = env_bool("PLATFORM_REQUIRE_MFA", default=not DEBUG)
# A path, not a name: "/" is the help center on a desk host and the platform page on the
# platform host.
LOGIN_REDIRECT_URL = "/"

# -- email --------------------------------------------------------------------------------

# With DEBUG, mail is kept in a local outbox readable at /dev/mail/ (see helpdesk/mail.py).
EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    "helpdesk.mail.DevOutboxBackend" if DEBUG else "django.core.mail.backends.smtp.EmailBackend",
)
DEV_OUTBOX_DIR = BASE_DIR / ".data" / "mail"
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", default=False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", default=False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 30)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", f"support@{BASE_DOMAIN}")
SERVER_EMAIL = env_str("SERVER_EMAIL", DEFAULT_FROM_EMAIL)

# -- languages and time -------------------------------------------------------------------

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("zh-hans", _("Simplified Chinese"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
USE_TZ = True
TIME_ZONE = "UTC"

# -- static files -------------------------------------------------------------------------

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / ".data" / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
# Under DEBUG (`make run`) WhiteNoise serves the files from the app folders and sees
# edits without collectstatic, as runserver did; otherwise collectstatic's output.
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG
# Files browsers ask for at the root of every host (/favicon.ico), served by WhiteNoise
# before the host is resolved to a desk.
WHITENOISE_ROOT = BASE_DIR / "helpdesk" / "site_root"
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(BASE_DIR / ".data" / "media")))
MEDIA_URL = "/media/"
# Uploads (ticket attachments) are served only through views that check access.
ATTACHMENT_MAX_BYTES = env_int("ATTACHMENT_MAX_BYTES", 10 * 1024 * 1024)
ATTACHMENTS_PER_MESSAGE = env_int("ATTACHMENTS_PER_MESSAGE", 10)
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
# Inbound email lands at <local>@INBOUND_EMAIL_DOMAIN; replies go to reply+<token>@ it.
INBOUND_EMAIL_DOMAIN = env_str("INBOUND_EMAIL_DOMAIN", BASE_DOMAIN)
# The authserv-ids of our own receiving mail servers, comma-separated: only their
# Authentication-Results headers are believed (anyone can write one into a mail).
# Empty: no DMARC verdict is read, and only per-recipient reply tokens prove a sender.
INBOUND_AUTHSERV_ID = env_list("INBOUND_AUTHSERV_ID", [])
for _authserv_id in INBOUND_AUTHSERV_ID:
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9.-]*", _authserv_id):
        raise ImproperlyConfigured(
            f"INBOUND_AUTHSERV_ID: {_authserv_id!r} is not a server name like mx.example.com."
        )
# Solved tickets close after this many days without a customer reply.
TICKET_AUTO_CLOSE_DAYS = env_int("TICKET_AUTO_CLOSE_DAYS", 4)

# -- security -----------------------------------------------------------------------------

SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
LANGUAGE_COOKIE_SECURE = not DEBUG
SESSION_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=False)
# Load balancers probe the health check over plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
# HSTS (sent on HTTPS responses only): a year outside DEBUG. Tenants live on
# subdomains of BASE_DOMAIN, so the header from BASE_DOMAIN covers them all.
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 365 * 24 * 3600)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", default=False)
if SECURE_HSTS_SECONDS < 0:
    raise ImproperlyConfigured(f"SECURE_HSTS_SECONDS={SECURE_HSTS_SECONDS} must not be negative.")
if not SECURE_HSTS_PRELOAD:
    # security.W021 asks for `preload`. Being on the browsers' preload list is a
    # commitment for BASE_DOMAIN and every name under it that takes months to undo;
    # the operator makes it (SECURE_HSTS_PRELOAD=1, then hstspreload.org), not a default.
    SILENCED_SYSTEM_CHECKS.append("security.W021")
if env_bool("BEHIND_TLS_PROXY", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Django's page for a refused form is styled inline: ours is a page like the others.
CSRF_FAILURE_VIEW = "helpdesk.views.csrf_failure"

# Every response's policy (helpdesk/security.py sets it; docs/security.md): scripts,
# styles, fonts and requests from our own origin only, no inline script or style,
# no plugins; images from our origin (attachments included) and data: URLs (icons of
# the admin and Swagger UI). A message's external images are shown only when a
# person asks, by a relaxation of img-src on that one response.
CONTENT_SECURITY_POLICY = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'", "data:"],
    "font-src": ["'self'"],
    "connect-src": ["'self'"],
    "object-src": ["'none'"],
    "base-uri": ["'self'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
}

# -- REST API -----------------------------------------------------------------------------


def _api_rate(name: str, default: str) -> str:
    """A DRF throttle rate such as "120/min" (per second, minute, hour or day)."""
    rate = env_str(name, default).strip()
    count, _slash, period = rate.partition("/")
    if not (count.isdigit() and period and period[0] in "smhd"):
        raise ImproperlyConfigured(f"{name}={rate!r} is not a rate like 120/min.")
    return rate


# Requests per client to /api/: per signed-in user, and per IP address for anonymous ones.
API_RATE_USER = _api_rate("API_RATE_USER", "120/min")
API_RATE_ANON = _api_rate("API_RATE_ANON", "30/min")
# Exchanges of a tenant's identity token for a chat widget session, per IP address and
# desk (chat/widget_views.py): a page load takes one.
WIDGET_SESSION_RATE = _api_rate("WIDGET_SESSION_RATE", "20/min")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "helpdesk.api_auth.ApiTokenAuthentication",
        # Enforces CSRF on unsafe methods for browser sessions.
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["helpdesk.api_auth.IsTenantMember"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # JSON only, with a nesting limit and no NUL or lone surrogate (helpdesk/input_guard.py).
    "DEFAULT_PARSER_CLASSES": ["helpdesk.input_guard.GuardedJSONParser"],
    "DEFAULT_THROTTLE_CLASSES": [
        "helpdesk.api_throttling.AnonRateThrottle",
        "helpdesk.api_throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {"anon": API_RATE_ANON, "user": API_RATE_USER},
    "EXCEPTION_HANDLER": "helpdesk.api_errors.api_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Helpdesk API",
    "DESCRIPTION": (
        "Tickets, their messages and categories of one help desk (the host's tenant), and "
        "the usage and payment events its product reports for the health scores. "
        "Authenticate with a personal token (`Authorization: Token <key>`, created at "
        "/account/api-tokens/) or a signed-in browser session."
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    # Every error an operation can answer, in the API's error shape (helpdesk/api_schema.py).
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "helpdesk.api_schema.document_errors",
    ],
    # Swagger UI's assets come from the sidecar package, served by whitenoise: no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}

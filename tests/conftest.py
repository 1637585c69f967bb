"""Shared fixtures: two tenants with named personas, and clients bound to their hosts.

Acme (`acme.localhost`) is the tenant under test; Globex (`globex.localhost`)
is the other tenant whose data must never show up at Acme.
"""

import os
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import translation

from helpdesk import side_by_side
from helpdesk.celery import app as celery_app
from helpdesk.models import Role, Tenant, User
from helpdesk.tenancy import tenant_scope
from plans.models import Organization, Plan
from tests.helpdesk.factories import PASSWORD, make_member, make_tenant  # noqa: F401
from tests.plans.factories import make_organization

# Playwright's sync API runs an event loop in the test thread; the ORM calls
# our fixtures make there are still synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

BROWSER_TESTS = Path(__file__).parent / "browser"


def pytest_collection_modifyitems(config, items):
    """Chromium's tests last. Once Playwright's sync API has started (the browser lives for
    the session), the test thread has an event loop running, and there `async_to_sync`,
    which the chat's publications use (chat/events.py), refuses to run: the socket tests
    in tests/chat would hear nothing."""
    items.sort(
        key=lambda item: (
            Path(item.path).is_relative_to(BROWSER_TESTS)
            or "browser" in getattr(item, "fixturenames", ())
        )
    )


@pytest.fixture(autouse=True)
def _fast_and_isolated(settings, tmp_path):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.BASE_DOMAIN = "localhost"
    # No collectstatic before tests: serve assets from the app folders.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    # Tasks run in-process unless a test starts a real worker (test_celery.py).
    celery_app.conf.task_always_eager = True
    # allauth's rate limits live in the cache: Redis (the database fallback table,
    # used only while Redis is down, is rolled back or emptied by the tests that fill it).
    cache.primary.clear()
    settings.MEDIA_ROOT = tmp_path / "media"  # uploads never land in .data/
    # Requests leave their language active in the thread (as Django's LocaleMiddleware
    # does); each test starts from the default, whatever the one before asked for.
    translation.activate(settings.LANGUAGE_CODE)
    yield
    celery_app.conf.task_always_eager = False


@pytest.fixture(scope="session", autouse=True)
def _side_by_side_stopped_at_the_end(django_db_setup):
    """Pages computed side by side (live servers, transactional tests) leave pool threads
    connected to the test database; they are closed before pytest-django drops it."""
    yield
    side_by_side.stop()


@pytest.fixture
def worker(transactional_db):
    """A real Celery worker (in a thread) on the real Redis broker; tasks stop running eagerly."""
    from celery.contrib.testing.worker import start_worker

    celery_app.conf.task_always_eager = False
    with start_worker(celery_app, perform_ping_check=False, pool="solo", loglevel="WARNING"):
        yield


@pytest.fixture
def queue(transactional_db):
    """Tasks go to the suite's real broker (for worker processes that tests start);
    leftovers of earlier runs are purged first."""
    celery_app.conf.task_always_eager = False
    celery_app.control.purge()
    yield
    celery_app.control.purge()


@dataclass
class Desk:
    """One tenant and its people."""

    tenant: Tenant
    free: Plan
    pro: Plan
    pro_plus: Plan
    org: Organization  # on Pro
    other_org: Organization  # on Free
    admin: User
    agent: User
    customer: User  # of `org`
    other_customer: User  # of `other_org`

    @property
    def host(self) -> str:
        return f"{self.tenant.slug}.localhost"

    def client(self, user: User | None = None) -> Client:
        client = Client(HTTP_HOST=self.host)
        if user is not None:
            client.force_login(user)
        return client

    def scope(self):
        return tenant_scope(self.tenant)


def build_desk(slug: str, name: str) -> Desk:
    tenant = make_tenant(slug=slug, name=name)
    with tenant_scope(tenant):
        free, pro, pro_plus = Plan.objects.order_by("rank")
        org = make_organization(
            tenant, name=f"{name} Customer Co", plan=pro, domain=f"{slug}-co.example"
        )
        other_org = make_organization(
            tenant, name=f"{name} Other Co", plan=free, domain=f"{slug}-other.example"
        )
        return Desk(
            tenant=tenant,
            free=free,
            pro=pro,
            pro_plus=pro_plus,
            org=org,
            other_org=other_org,
            admin=make_member(
                tenant, f"admin@{slug}.example", Role.ADMIN, full_name=f"{name} Admin"
            ),
            agent=make_member(
                tenant, f"agent@{slug}.example", Role.AGENT, full_name=f"{name} Agent"
            ),
            customer=make_member(
                tenant,
                f"carol@{slug}-co.example",
                Role.CUSTOMER,
                organization=org,
                full_name="Carol Customer",
            ),
            other_customer=make_member(
                tenant,
                f"oscar@{slug}-other.example",
                Role.CUSTOMER,
                organization=other_org,
                full_name="Oscar Other",
            ),
        )


@pytest.fixture
def acme(db) -> Desk:
    return build_desk("acme", "Acme Analytics")


@pytest.fixture
def globex(db) -> Desk:
    return build_desk("globex", "Globex")


@pytest.fixture
def receiver(settings):
    """A local webhook receiver (tests/webhooks/receiver.py), and the operator's setting
    that lets endpoints reach loopback."""
    from tests.webhooks.receiver import Receiver

    settings.WEBHOOK_ALLOWED_PRIVATE_NETWORKS = ["127.0.0.0/8"]
    server = Receiver()
    yield server
    server.stop()

"""Every route of the URL confs, as a path a request can be sent to, for tests that walk
them all (tests/helpdesk/test_hostile_input.py).

The routes come from the URL confs themselves (helpdesk.urls on a desk's host,
helpdesk.urls_platform on the platform host), admin and allauth included: a new route is
walked without anyone listing it. Each argument is filled from `World`, a desk with one
row of each kind a route may name (a ticket with an attachment, an article, a task, ...),
so the walk reaches the views' real work rather than their 404s. An argument name the walk
does not know fails the walk, to be given a sample here.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.contrib import admin
from django.contrib.contenttypes.models import ContentType
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.utils import timezone

from helpdesk.api_tokens import api_token_create
from plans.models import Organization
from tickets.models import Macro, Ticket

# The project's own apps (not Django's, nor a library's): the walks hold their routes,
# templates and uploads to our rules, a new app included without anyone listing it.
OUR_APPS = frozenset(
    config.name.split(".")[0]
    for config in apps.get_app_configs()
    if Path(config.path).resolve().is_relative_to(settings.BASE_DIR)
    and ".venv" not in Path(config.path).parts
    and config.name.split(".")[0] != "tests"
)

_ARGUMENT = re.compile(
    r"<(?:(?P<converter>\w+):)?(?P<name>\w+)>|\(\?P<(?P<group>\w+)>(?P<regex>[^)]*)\)"
)


@dataclass(frozen=True)
class Route:
    """One URL pattern: its pattern text, the path a request is sent to, and the host."""

    pattern: str
    path: str
    host: str
    name: str
    view: object = field(compare=False, repr=False)

    @property
    def is_api(self) -> bool:
        return self.path.startswith("/api/")

    @property
    def takes_raw_body(self) -> bool:
        """Csrf-exempt views read the body themselves (the API's parser, raw mail), unless
        they take a form the input guard checks (helpdesk/input_guard.py)."""
        from helpdesk.input_guard import reads_raw_body

        return reads_raw_body(self.view)

    def __str__(self) -> str:
        return f"{self.host}{self.path}"


@dataclass
class World:
    """A desk with a row of each kind the routes name, and the samples for their arguments."""

    desk: object
    samples: dict[str, str]
    admin_rows: dict[type, str]

    def sample(self, name: str, pattern: str, view) -> str:
        parts = [part.strip("^$") for part in pattern.split("/")]
        if parts[0] == "admin" and name in ("object_id", "pk") and len(parts) > 3:
            # A page of one model's admin (admin/<app>/<model>/...): one of its rows.
            try:
                model = apps.get_model(parts[1], parts[2])
            except (LookupError, ValueError):
                model = None
            if model is not None:
                return self.admin_rows.get(model, "1")
        for key in (f"{pattern}:{name}", *(f"{part}:{name}" for part in parts), name):
            if key in self.samples:
                return self.samples[key]
        raise LookupError(f"no sample for <{name}> in {pattern!r}: add one to tests/routes.py")


def build_world(desk) -> World:
    from success.models import SuccessTask
    from tests.chat.factories import make_chat
    from tests.chat.widget import widget_on, widget_ticket
    from tests.knowledge.factories import make_article, section
    from tests.tickets.factories import make_ticket, upload

    ticket = make_ticket(desk, uploads=[upload()])
    chat = make_chat(desk)
    widget_on(desk)
    article = make_article(desk, "Exporting invoices")
    kb_section = section(desk)
    with desk.scope():
        attachment = ticket.messages.get().attachments.get()
        macro = Macro.objects.create(tenant=desk.tenant, name="Thanks", body="Thank you!")
        task = SuccessTask.objects.create(
            tenant=desk.tenant,
            organization=desk.org,
            owner=desk.agent,
            kind="check_in_30",
            trigger_date=timezone.localdate(),
            due_date=timezone.localdate(),
        )
        token, _key = api_token_create(tenant=desk.tenant, user=desk.agent, name="Walk")
        admin_rows = {}
        for model in admin.site._registry:
            first = model._default_manager.order_by("pk").first()
            if first is not None:
                admin_rows[model] = str(first.pk)
    samples = {
        "number": str(ticket.number),
        "attachments:key": str(attachment.key),
        "images:key": str(uuid.uuid4()),
        "mail:key": str(uuid.uuid4()),  # an unverified mail's review key
        # allauth's e-mail confirmation and password reset keys
        "key": "not-a-key",
        "uidb36": "1",
        "kb/articles/<int:pk>:pk": str(article.pk),
        "articles:pk": str(article.pk),
        "kb/articles/<int:pk>/vote/:pk": str(article.pk),
        "organizations:pk": str(desk.org.pk),
        "tasks:pk": str(task.pk),
        "kb/<str:slug>/:slug": kb_section.category.slug,
        "kb/<str:category_slug>/<str:slug>/:slug": kb_section.slug,
        "category_slug": kb_section.category.slug,
        "kb/articles/<int:pk>/<str:slug>/:slug": article.slug,
        # A security key of allauth's (none here: one would change what the walk's people
        # must do about their second factor; tests/helpdesk/test_mfa_enforcement.py).
        "keys:pk": "1",
        "macro_id": str(macro.pk),
        "rank": "2",  # a plan, by rank: Pro+, above the walk's customer's Pro
        "chat:key": str(chat.key),
        # The chat widget's session, for the desk's customer (chat/widget.py).
        "ticket": widget_ticket(desk, desk.customer),
        "token": "not-a-token",
        "rating": "5",
        "score": "9",
        "prefix": token.prefix,
        "name": "not-a-mail",
        "content_type_id": str(ContentType.objects.get_for_model(Organization).pk),
        "object_id": str(desk.org.pk),  # the admin's "view on site" shortcut
        "url": "nowhere/",
    }
    return World(desk=desk, samples=samples, admin_rows=admin_rows)


def _walk(patterns, prefix: str = ""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, prefix + str(pattern.pattern))
        else:
            assert isinstance(pattern, URLPattern)
            yield prefix + str(pattern.pattern), pattern


def _fill(text: str, world: World, view) -> str:
    def argument(match: re.Match) -> str:
        name = match["name"] or match["group"]
        if match["group"] and "|" in (match["regex"] or ""):  # a choice: take its first
            return match["regex"].split("|")[0]
        return world.sample(name, text, view)

    return _ARGUMENT.sub(argument, text).replace("^", "").replace("$", "")


def routes(world: World) -> list[Route]:
    """Every route of both URL confs, with its arguments filled in."""
    found = []
    desk_host = world.desk.host
    for urlconf, host in (
        (settings.ROOT_URLCONF, desk_host),
        (settings.PLATFORM_URLCONF, "localhost"),
    ):
        for text, pattern in _walk(get_resolver(urlconf).url_patterns):
            path = "/" + _fill(text, world, pattern.callback)
            match = resolve(path, urlconf)
            assert match.func == pattern.callback, (text, path, match)
            found.append(Route(text, path, host, pattern.name or "", pattern.callback))
    return found


def ticket_count(desk) -> int:
    with desk.scope():
        return Ticket.objects.count()

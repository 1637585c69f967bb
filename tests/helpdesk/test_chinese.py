"""Chinese everywhere: every page, the catalogue, the desk's own names.

Every page in Chinese, with the demo desk's data, shows no English left behind.

The pages come from the URL conf (tests/routes.py: help center, knowledge base, agent
workspace, reports, success pages, every model's admin list, add, change, history and
delete pages, allauth's pages, the platform host), each requested by a visitor, a
customer, an agent and an admin of the demo desk (`manage.py seed_demo`) with the
language cookie set to Chinese; then the error pages. What counts as English left behind
is in tests/english_text.py: a msgid of our catalogue, or the English name of tenant data
that has a Chinese name, shown as it is; and durations that read as dates ("1 月").
"""

from __future__ import annotations

import ast
import io
import json
import re
from collections import defaultdict
from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core.management import call_command
from django.db import models
from django.test import Client
from django.urls import include, path
from django_scopes import scopes_disabled

from helpdesk.models import Tenant, User
from plans.models import Organization, Plan
from success.models import SuccessTask
from tests.conftest import Desk
from tests.english_text import EnglishFinder, read_po, text_of_html, visible_text
from tests.routes import build_world, routes
from tickets.models import Category, Macro, Ticket

CATALOGUE = Path(settings.BASE_DIR) / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
COUNTRIES = Path(settings.BASE_DIR) / "sla" / "data" / "countries.json"

# The same in both languages: names of products, standards and formats that Chinese
# interfaces write in Latin letters (the catalogue's own translations keep them too).
ALLOWED = {
    "API",
    "CSV",
    "SLA",
    "CSAT",
    "NPS",
    "ARR",
    "ID",
    "URL",
    "Markdown",
    "OpenAPI",
    "Swagger UI",
    "IMAP",
    "DMARC",
    "Message-ID",
    "Reply-To",
    # Languages are named in their own language, as the language switcher names them.
    "English",
}

# Django names the model behind a many-to-many field ("Article-plan relationship") when
# the class is built, in English, whatever the page's language; the admin's delete page
# lists those rows. Nothing of ours can translate it.
DJANGO_THROUGH_MODEL = re.compile(r"^[\w ]+-[\w ]+ relationships?: ")

PERSONAS = ("anonymous", "customer", "agent", "admin")
CHINESE = {settings.LANGUAGE_COOKIE_NAME: "zh-hans"}


def _localized_models():
    """Models whose rows carry a name in English and one in Chinese."""
    return [m for m in apps.get_models() if any(f.name == "name_zh_hans" for f in m._meta.fields)]


def _text_fields(model):
    return [
        f
        for f in model._meta.concrete_fields
        if not f.choices
        and (
            isinstance(f, models.CharField | models.TextField | models.JSONField)
            or (isinstance(f, ArrayField) and isinstance(f.base_field, models.CharField))
        )
    ]


def _shown_as(value: str, *, html: bool) -> list[str]:
    """The value, and the pieces of it a page may show apart: an HTML field's text
    nodes, a Markdown field's paragraphs (a macro's preview)."""
    if not value or (len(value) > 30 and not any(c.isspace() for c in value)):
        return []  # empty, or a key, digest or address: not words
    return [value, *(text_of_html(value) if html else value.split("\n\n"))]


def _strings_in(value) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [json.dumps(value, ensure_ascii=False)] + [
            text for item in value.values() for text in _strings_in(item)
        ]
    if isinstance(value, list):
        return [text for item in value for text in _strings_in(item)]
    return []


def _finder() -> EnglishFinder:
    """The catalogue's English, the desk's English names that have a Chinese twin, and
    the tenant data shown as stored (no Chinese version: not UI)."""
    finder = EnglishFinder(ALLOWED)
    for entry in read_po(CATALOGUE):
        translations = " ".join(entry.msgstr)
        for english in filter(None, (entry.msgid, entry.msgid_plural)):
            finder.add_phrase(english, "msgid", kept_in=translations)
    localized = set(_localized_models())
    with scopes_disabled():
        for model in apps.get_models():
            for field in _text_fields(model):
                if model in localized and field.name in ("name", "name_zh_hans"):
                    continue
                values = model._base_manager.values_list(field.attname, flat=True).distinct()
                for value in values:
                    if isinstance(value, str) and not isinstance(field, ArrayField):
                        for text in _shown_as(value, html=field.name.endswith("_html")):
                            finder.add_data(text)
                    else:  # JSON: its strings, and the whole as admin shows it
                        for text in _strings_in(value):
                            finder.add_data(text)
        for model in localized:
            for name, chinese in model._base_manager.values_list("name", "name_zh_hans"):
                if chinese:
                    finder.add_phrase(name, model._meta.label_lower)
                    finder.add_data(name, english_name=True)
                else:
                    finder.add_data(name)
    # The holiday import names each country in Chinese with its English (ISO) name after
    # it, "新西兰 (New Zealand)", on purpose: the English names are data, as stored.
    for country in json.loads(COUNTRIES.read_text(encoding="utf-8")):
        finder.add_data(country["en"])
    return finder


def _demo_desk() -> Desk:
    call_command("seed_demo", stdout=io.StringIO())
    tenant = Tenant.objects.get(slug="acme")
    with scopes_disabled():
        people = {u.email: u for u in User.objects.filter(tenant=tenant)}
        orbit = Organization.objects.get(tenant=tenant, name="Orbit Logistics")
        brightside = Organization.objects.get(tenant=tenant, name="Brightside Bakery")
        plans = {p.rank: p for p in Plan.objects.filter(tenant=tenant)}
    return Desk(
        tenant=tenant,
        free=plans[0],
        pro=plans[1],
        pro_plus=plans[2],
        org=orbit,
        other_org=brightside,
        admin=people["admin@acme.example"],
        agent=people["mei@acme.example"],
        customer=people["olivia@orbit.example"],
        other_customer=people["bella@brightside.example"],
    )


def _client(desk: Desk, persona: str, host: str | None = None) -> Client:
    client = Client(HTTP_HOST=host or desk.host, raise_request_exception=False)
    client.cookies.load(CHINESE)
    user = None if persona == "anonymous" else getattr(desk, persona)
    if user is not None:
        client.force_login(user)
    return client


class Found:
    """Findings grouped by what was found, with the first pages it was found on."""

    def __init__(self):
        self.pages: dict[str, list[str]] = defaultdict(list)
        self.pages_read = 0

    def read(self, finder: EnglishFinder, where: str, response) -> None:
        if not response.get("Content-Type", "").startswith("text/html") or not response.content:
            return
        self.pages_read += 1
        fragments = [
            fragment
            for fragment in visible_text(response.content.decode())
            if not DJANGO_THROUGH_MODEL.match(fragment)
        ]
        for finding in finder.find_in_page(fragments):
            if any(where.startswith(_admin_of(label)) for label in finding.models):
                continue  # a model's own admin pages edit both of its names
            self.pages[str(finding)].append(where)

    def report(self) -> str:
        lines = [f"{len(self.pages)} English phrases left in Chinese pages:"]
        for finding, pages in sorted(self.pages.items()):
            lines.append(f"  {finding}  on {', '.join(sorted(set(pages))[:3])}")
        return "\n".join(lines)


def _admin_of(label: str) -> str:
    app_label, model = label.split(".")
    return f"admin /admin/{app_label}/{model}/"


@pytest.fixture
def demo(db):
    desk = _demo_desk()
    world = build_world(desk)
    with desk.scope():
        # Pages about the demo's own rows, whose history is richest, rather than the
        # walk's fresh samples: the customer's solved ticket with a rating, an
        # organization at risk and its health-drop task.
        rich = (
            Ticket.objects.filter(requester=desk.customer, csat_surveys__isnull=False)
            .order_by("number")
            .first()
        )
        world.samples["number"] = str(rich.number)
        initech = Organization.objects.get(name="Initech")
        world.samples["organizations:pk"] = str(initech.pk)
        drop = SuccessTask.objects.filter(organization=initech, kind="health_drop").first()
        world.samples["tasks:pk"] = str(drop.pk)
    return desk, world


def test_every_page_in_chinese_shows_no_english_left_behind(demo, settings):
    desk, world = demo
    finder = _finder()
    found = Found()
    for route in routes(world):
        for persona in PERSONAS:
            if route.host != desk.host and persona != "anonymous":
                continue
            if route.is_api:
                continue
            client = _client(desk, persona, route.host)
            found.read(finder, f"{persona} {route.path}", client.get(route.path))
    # The queue's other views and the help center's other lists.
    for view in ("mine", "unassigned", "open", "pending", "on_hold", "solved"):
        found.read(
            finder, f"agent /agent/?view={view}", _client(desk, "agent").get(f"/agent/?view={view}")
        )
    # Error pages: not found, forbidden, bad input, a form refused by CSRF protection,
    # a server error, the database out of reach, an unknown host.
    found.read(finder, "404", _client(desk, "customer").get("/no-such-page/"))
    found.read(finder, "403", _client(desk, "customer").get("/agent/"))
    found.read(finder, "400", _client(desk, "customer").get("/kb/search/", {"q": "x\x00"}))
    csrf = Client(HTTP_HOST=desk.host, enforce_csrf_checks=True)
    csrf.cookies.load(CHINESE)
    found.read(finder, "403 csrf", csrf.post("/accounts/login/", {"login": "x@example.com"}))
    settings.ROOT_URLCONF = __name__
    found.read(finder, "500", _client(desk, "customer").get("/boom/"))
    from django.test import RequestFactory

    from helpdesk.outage import unavailable_response

    request = RequestFactory().get("/", HTTP_HOST=desk.host)
    request.COOKIES.update(CHINESE)
    found.read(finder, "503", unavailable_response(request))
    unknown = Client(HTTP_HOST="nobody.localhost", HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9")
    found.read(finder, "unknown host", unknown.get("/"))

    assert found.pages_read > 300
    assert not found.pages, found.report()


def test_the_scan_finds_english_left_behind_and_passes_data():
    finder = EnglishFinder(ALLOWED)
    finder.add_phrase("My open", "msgid")
    finder.add_phrase("Name", "msgid")
    finder.add_phrase("%(count)s tickets waiting", "msgid")
    finder.add_phrase("CSV", "msgid", kept_in="CSV")
    finder.add_phrase("Billing", "tickets.category")
    finder.add_data("Billing", english_name=True)
    finder.add_data("Open the billing page for my open invoices")  # a ticket's subject
    page = (
        '<html lang="zh-hans"><head><title>My open</title><script>var x = "Name";</script>'
        '</head><body><nav aria-label="Name">视图</nav><p>3 tickets waiting</p>'
        "<p>Billing</p><p>Open the billing page for my open invoices</p><p>1 月</p>"
        '<span class="sla">超时 3d 4h</span><span>4 天</span><p>导出 CSV</p>'
        '<option lang="en">Name</option><p>2026年1月5日</p><p>NO, BY</p>'
        "<p>{{ customer.name }}</p><p>Asia/Shanghai</p></body></html>"
    )
    found = [(f.phrase, f.source) for f in finder.find_in_page(visible_text(page))]
    assert found == [
        ("My open", "msgid"),
        ("Name", "msgid"),
        ("tickets waiting", "msgid"),
        ("Billing", "tickets.category"),
        ("1 月", "duration"),
        ("3d", "duration"),
        ("4h", "duration"),
    ]


def test_the_catalogue_is_translated_throughout():
    """No msgid left without Chinese, none fuzzy, every placeholder kept."""
    placeholder = re.compile(r"%\(\w+\)[sd]|\{\{ ?\w+(?:\.\w+)? ?\}\}")
    problems = []
    for entry in read_po(CATALOGUE):
        if not entry.translated:
            problems.append(f"untranslated or fuzzy: {entry.msgctxt or ''} {entry.msgid!r}")
            continue
        # Chinese has one plural form, written from the plural msgid.
        wanted = sorted(set(placeholder.findall(entry.msgid_plural or entry.msgid)))
        for translation in entry.msgstr:
            if sorted(set(placeholder.findall(translation))) != wanted:
                problems.append(f"placeholders differ: {entry.msgid!r} -> {translation!r}")
    assert problems == []


def test_no_string_is_translated_when_its_module_is_imported():
    """A gettext() (not gettext_lazy) run at import time is translated once, in the
    language of whoever imported first: English for every reader (the queue's view names
    were). Looked for in every module of ours: module and class bodies, decorators,
    default arguments."""
    eager = {"gettext", "ngettext", "pgettext", "npgettext"}
    base = Path(settings.BASE_DIR)
    found = []
    for app in apps.get_app_configs():
        folder = Path(app.path)
        if folder.parent != base:  # Django's and the packages' apps
            continue
        for source in folder.rglob("*.py"):
            if "migrations" in source.parts:
                continue
            tree = ast.parse(source.read_text())
            names = {
                alias.asname or alias.name
                for node in ast.walk(tree)
                if isinstance(node, ast.ImportFrom) and node.module == "django.utils.translation"
                for alias in node.names
                if alias.name in eager
            }
            found += [
                f"{source.relative_to(base)}:{call.lineno} {ast.unparse(call)}"
                for call in _run_at_import(tree)
                if isinstance(call.func, ast.Name) and call.func.id in names
            ]
    assert found == []


def _run_at_import(node):
    """Calls evaluated when the module is imported (not inside a function's body)."""
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
        defaults = [*node.args.defaults, *filter(None, node.args.kw_defaults)]
        for child in [*getattr(node, "decorator_list", []), *defaults]:
            yield from _run_at_import(child)
        return
    if isinstance(node, ast.Call):
        yield node
    for child in ast.iter_child_nodes(node):
        yield from _run_at_import(child)


def test_the_desks_own_names_come_in_both_languages(db):
    """What a new desk gets (categories, calendars) and the demo's categories, sections
    and macros each have a Chinese name, unless the name is Chinese already."""
    call_command("seed_demo", stdout=io.StringIO())
    missing = []
    with scopes_disabled():
        for model in _localized_models():
            for name, chinese in model._base_manager.values_list("name", "name_zh_hans"):
                if not chinese and not re.search(r"[\u4e00-\u9fff]", name):
                    missing.append(f"{model._meta.label}: {name}")
    assert missing == []


def test_names_show_in_the_readers_language_and_fall_back_to_english(acme):
    with acme.scope():
        billing = Category.objects.get(name="Billing")
        Category.objects.filter(name="Account").update(name_zh_hans="")
    assert billing.name_zh_hans == "账单"
    customer = acme.client(acme.customer)
    english = customer.get("/tickets/new/").content.decode()
    customer.cookies.load(CHINESE)
    chinese = customer.get("/tickets/new/").content.decode()
    assert ">Billing<" in english and ">账单<" not in english
    assert ">账单<" in chinese and ">Billing<" not in chinese
    assert ">Account<" in chinese  # no Chinese name: the English one


@pytest.mark.parametrize("model", _localized_models(), ids=lambda m: m._meta.label)
def test_another_desks_admin_neither_sees_nor_changes_the_chinese_names(acme, globex, model):
    """The Chinese name is a field of rows already scoped to their desk
    (tests/helpdesk/test_admin_scoping.py walks every admin); here, by its own value."""
    _ensure_a_row(acme, model)
    with acme.scope():
        row = model.objects.first()
        model.objects.filter(pk=row.pk).update(name_zh_hans="只属于 Acme 的名称")
    meta = model._meta
    client = globex.client(globex.admin)
    listed = client.get(f"/admin/{meta.app_label}/{meta.model_name}/?q=Acme")
    assert "只属于 Acme 的名称" not in listed.content.decode()
    change = f"/admin/{meta.app_label}/{meta.model_name}/{row.pk}/change/"
    assert "只属于 Acme 的名称" not in client.get(change, follow=True).content.decode()
    client.post(change, {"name": row.name, "name_zh_hans": "改掉"})
    with acme.scope():
        assert model.objects.get(pk=row.pk).name_zh_hans == "只属于 Acme 的名称"


def _ensure_a_row(desk, model) -> None:
    """New desks get categories and calendars; macros, groups and the knowledge base's
    shelves are made here."""
    from tests.knowledge.factories import section

    with desk.scope():
        if model.objects.exists():
            return
    if model is Macro:
        with desk.scope():
            Macro.objects.create(tenant=desk.tenant, name="Thanks", body="Thank you!")
    elif model._meta.label == "tickets.Group":
        with desk.scope():
            model.objects.create(tenant=desk.tenant, name="Billing team")
    else:
        section(desk)


def _boom(request):
    raise RuntimeError("boom")


urlpatterns = [path("boom/", _boom), path("", include("helpdesk.urls"))]

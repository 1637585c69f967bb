"""Every page of the help center and the agent workspace, with the data each one is about.

`populate(desk)` fills a desk with one of everything a page shows (a customer's open
request with a note, an attachment and a rated survey, a solved one waiting for its
survey, an article, a search that found nothing, a breach, a health score, a task and
a note, an API token...), every text a person typed carrying `word` (empty, or a long
unbroken word for the layout tests).

`PAGES` says, for each page's route name, who reads it and which of that data it must
show: a listing its rows, a detail its object. `page_routes(desk)` is generated from the
URL conf: every route of our apps (not the API, the admin or allauth's pages) that
answers someone's GET with a page, so a new page fails the walks until it is described
here. (The help center's front page said "You have no open requests" beside a list of
them: no test read what a page shows with data present.)
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta
from html.parser import HTMLParser

from django.test import Client
from django.utils import timezone

from helpdesk.api_tokens import api_token_create
from helpdesk.models import User
from tests.routes import OUR_APPS, Route, World, routes

PERSONAS = ("anonymous", "customer", "agent", "admin")


@dataclass
class Data:
    """What `populate` made, by what the pages call it."""

    desk: object
    word: str
    ticket: object  # Carol's open request, with a note, an attachment and a rated survey
    solved: object  # Oscar's request, solved by the agent, its survey still to go out
    article: object
    section: object
    task: object
    renewal: object  # a renewal conversation's task
    macro: object
    texts: dict[str, str] = field(default_factory=dict)
    samples: dict[str, str] = field(default_factory=dict)

    def text(self, name: str) -> str:
        return self.texts[name]


def _typed(word: str, text: str, limit: int = 200) -> str:
    """What a person typed: `text`, with the long word in it when there is one (cut to
    what its field holds)."""
    return f"{text} {word}"[:limit] if word else text


def populate(desk, *, word: str = "") -> Data:
    """One of everything the pages show, at `desk`, its texts carrying `word`."""
    from feedback.models import CsatSurvey, NpsSurvey, SurveyStatus
    from feedback.services import csat_links, nps_links
    from knowledge.models import Category as KbCategory
    from knowledge.models import Section
    from knowledge.services import search_log_miss
    from phone.services import call_log
    from sla.models import Metric, SLABreach
    from success.models import HealthScore, Stage, TaskKind
    from success.services import note_add
    from tests.chat.factories import make_chat
    from tests.chat.widget import widget_on, widget_ticket
    from tests.knowledge.factories import make_article
    from tests.success.factories import make_task
    from tests.tickets.factories import make_ticket, refresh, upload
    from tickets.models import Category, Macro
    from tickets.services import ticket_add_note, ticket_update

    texts = {
        "customer": _typed(word, "Carol Customer"),
        "other_customer": _typed(word, "Oscar Other"),
        "organization": _typed(word, "Acme Customer Co"),
        "other_organization": _typed(word, "Brightside Bakery"),
        "subject": _typed(word, "Invoice export stops at row 500"),
        "body": _typed(word, "The export of March invoices stops halfway.", 10_000),
        "solved_subject": _typed(word, "Password reset mail never arrives"),
        "note": _typed(word, "Checked the export worker logs", 10_000),
        "attachment": f"export-log{word}.txt",
        "tag": (word or "export")[:50],
        "category": _typed(word, "Billing questions", 100),
        "article": _typed(word, "Exporting invoices to Excel"),
        "article_body": _typed(word, "Choose Export on the invoices page.", 10_000),
        "section": _typed(word, "Invoices and payments", 100),
        "kb_category": _typed(word, "Billing", 100),
        "macro": _typed(word, "Ask for the export file", 100),
        "csat_comment": _typed(word, "Quick and friendly help", 2000),
        "nps_comment": _typed(word, "The exports save us hours", 2000),
        "missed_search": _typed(word, "pivot tables"),
        "task_notes": _typed(word, "Call about the renewal", 2000),
        "success_note": _typed(word, "They plan to add ten seats", 2000),
        "token": _typed(word, "Nightly sync", 100),
        "call_notes": _typed(word, "Walked through the export settings on the phone", 10_000),
    }
    macro_body = "Hi {{ customer.first_name }}, " + _typed(word, "please send the file.", 2000)
    now = timezone.now()
    with desk.scope():
        User.objects.filter(pk=desk.customer.pk).update(full_name=texts["customer"])
        User.objects.filter(pk=desk.other_customer.pk).update(full_name=texts["other_customer"])
        desk.org.name = texts["organization"]
        desk.org.success_manager = desk.agent
        desk.org.renewal_date = timezone.localdate() + timedelta(days=60)
        desk.org.save()
        desk.other_org.name = texts["other_organization"]
        desk.other_org.save()
        desk.customer.refresh_from_db()
        desk.other_customer.refresh_from_db()
        billing = Category.objects.create(tenant=desk.tenant, name=texts["category"], position=9)
        macro = Macro.objects.create(tenant=desk.tenant, name=texts["macro"], body=macro_body)
        kb_category = KbCategory.objects.create(
            tenant=desk.tenant, name=texts["kb_category"], slug="billing"
        )
        kb_section = Section.objects.create(
            tenant=desk.tenant, category=kb_category, name=texts["section"], slug="invoices"
        )
    ticket = make_ticket(
        desk,
        subject=texts["subject"],
        body=texts["body"],
        category=billing,
        tags=[texts["tag"]],
        uploads=[upload(texts["attachment"], b"row 499 ok\nrow 500 failed\n")],
    )
    solved = make_ticket(desk, desk.other_customer, subject=texts["solved_subject"])
    chat = make_chat(desk, desk.customer, subject=texts["subject"])
    widget_on(desk)
    with desk.scope():
        ticket_add_note(ticket=ticket, author=desk.agent, body=texts["note"])
        call_log(
            ticket=ticket,
            agent=desk.agent,
            direction="outbound",
            outcome="answered",
            duration_seconds=200,
            notes=texts["call_notes"],
        )
        # An earlier solve of Carol's request, rated with a comment; then it came back.
        CsatSurvey.objects.create(
            tenant=desk.tenant,
            ticket=ticket,
            solved_at=now - timedelta(hours=3),
            recipient=desk.customer,
            agent=desk.agent,
            status=SurveyStatus.SENT,
            send_at=now - timedelta(hours=2),
            sent_at=now - timedelta(hours=2),
            rating=5,
            comment=texts["csat_comment"],
            rated_at=now - timedelta(hours=1),
        )
        ticket_update(ticket=solved, actor=desk.agent, status="solved")
        survey = CsatSurvey.objects.get(ticket=solved)
        nps = NpsSurvey.objects.create(
            tenant=desk.tenant,
            recipient=desk.customer,
            organization=desk.org,
            sent_at=now - timedelta(days=2),
            score=9,
            comment=texts["nps_comment"],
            responded_at=now - timedelta(days=1),
        )
        SLABreach.objects.create(
            tenant=desk.tenant,
            ticket=ticket,
            metric=Metric.FIRST_RESPONSE,
            result=SLABreach.Result.BREACHED,
            due_at=now - timedelta(hours=1),
        )
        search_log_miss(tenant=desk.tenant, query=texts["missed_search"], user=desk.customer)
        for org, score in ((desk.org, 82), (desk.other_org, 61)):
            HealthScore.objects.create(
                tenant=desk.tenant,
                organization=org,
                day=timezone.localdate() - timedelta(days=1),
                score=score,
                band="healthy" if score >= 75 else "at_risk",
                stage=Stage.STEADY,
                components={},
            )
        note_add(organization=desk.org, author=desk.agent, body=texts["success_note"])
        token, _key = api_token_create(tenant=desk.tenant, user=desk.customer, name=texts["token"])
        csat = csat_links(survey)
        nps_page = nps_links(nps, desk.tenant)
    article = make_article(
        desk,
        texts["article"],
        f"## Steps\n\n{texts['article_body']}",
        section=kb_section,
        slug="exporting-invoices",
        promoted=True,
        labels=["export"],
    )
    task = make_task(
        desk, desk.org, TaskKind.CHECK_IN_30, owner=desk.agent, notes=texts["task_notes"]
    )
    renewal = make_task(desk, desk.org, TaskKind.RENEWAL, owner=desk.agent)
    samples = {
        "number": str(ticket.number),
        "macro_id": str(macro.pk),
        "prefix": token.prefix,
        "kb/articles/<int:pk>/:pk": str(article.pk),
        "kb/articles/<int:pk>/<str:slug>/:pk": str(article.pk),
        "kb/articles/<int:pk>/<str:slug>/:slug": article.slug,
        "kb/articles/<int:pk>/vote/:pk": str(article.pk),
        "kb/<str:slug>/:slug": kb_section.category.slug,
        "category_slug": kb_section.category.slug,
        "kb/<str:category_slug>/<str:slug>/:slug": kb_section.slug,
        "organizations:pk": str(desk.org.pk),
        "tasks:pk": str(task.pk),
        "rank": str(desk.pro_plus.rank),  # a plan above the customer's own, by rank
        "chat:key": str(chat.key),
        # The chat widget's session of the customer, and an article inside it.
        "ticket": widget_ticket(desk, desk.customer),
        "widget/t/<str:ticket>/kb/articles/<int:pk>/:pk": str(article.pk),
        # The survey pages behind the emails' links (their real, signed tokens).
        "feedback/satisfaction/<int:number>/<str:token>/:number": str(solved.number),
        "feedback/satisfaction/<int:number>/<str:token>/:token": _token_of(csat["survey_url"]),
        "feedback/nps/<str:token>/:token": _token_of(nps_page["survey_url"]),
        "feedback/surveys/<str:token>/:token": _token_of(csat["opt_out_url"]),
    }
    return Data(
        desk=desk,
        word=word,
        ticket=refresh(desk, ticket),
        solved=refresh(desk, solved),
        article=article,
        section=kb_section,
        task=task,
        renewal=renewal,
        macro=macro,
        texts=texts,
        samples=samples,
    )


def _token_of(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1]


# -- what each page shows -------------------------------------------------------------------


@dataclass(frozen=True)
class Page:
    """Who reads a page (the first persona is the one the walks use), the query it
    needs, and the texts of `Data.texts` it must show."""

    personas: tuple[str, ...]
    shows: tuple[str, ...]
    query: dict = field(default_factory=dict)
    fragment_of: str = ""  # a piece htmx puts into that page, not a page of its own


CUSTOMER, AGENT, ADMIN, ANYONE = ("customer",), ("agent", "admin"), ("admin",), PERSONAS

PAGES: dict[str, Page] = {
    # The help center.
    "home": Page(CUSTOMER, ("subject", "organization")),
    "hc_ticket_list": Page(CUSTOMER, ("subject",)),
    "hc_ticket_new": Page(CUSTOMER, ("category",)),
    "hc_ticket_detail": Page(CUSTOMER, ("subject", "body", "attachment", "customer")),
    "kb_home": Page(ANYONE, ("kb_category", "article")),
    "kb_category": Page(ANYONE, ("kb_category", "section", "article")),
    "kb_section": Page(ANYONE, ("section", "article")),
    "kb_article": Page(ANYONE, ("article", "article_body", "section")),
    "kb_search": Page(ANYONE, ("article",), {"q": "exporting invoices"}),
    "kb_suggest": Page(
        CUSTOMER, ("article",), {"subject": "exporting invoices"}, fragment_of="hc_ticket_new"
    ),
    "service_levels": Page(ANYONE, ()),
    "feedback_form": Page(CUSTOMER, ()),
    "callback_new": Page(CUSTOMER, ()),
    "account_api_tokens": Page(CUSTOMER, ("token",)),
    # What the survey emails link to (no sign-in: the signed token is the key).
    "csat_survey": Page(("anonymous",), ("solved_subject",)),
    "nps_survey": Page(("anonymous",), ()),
    "survey_opt_out": Page(("anonymous",), ()),
    # The agent workspace.
    "agent_queue": Page(AGENT, ("subject", "customer", "organization", "tag")),
    "agent_customers": Page(AGENT, ("organization", "other_organization")),
    "agent_ticket": Page(
        AGENT,
        (
            "subject",
            "body",
            "note",
            "attachment",
            "customer",
            "organization",
            "csat_comment",
            "call_notes",
        ),
    ),
    "agent_ticket_new": Page(AGENT, ("customer", "other_customer", "organization")),
    "agent_customer_search": Page(
        AGENT, ("customer", "organization"), {"q": "carol"}, fragment_of="agent_ticket_new"
    ),
    "agent_presence": Page(AGENT, (), fragment_of="agent_ticket"),
    # The articles the ticket's words suggest, loaded after its page.
    "agent_ticket_articles": Page(AGENT, ("article",), fragment_of="agent_ticket"),
    "kb_insights": Page(ADMIN, ("missed_search",)),
    "insights_dashboard": Page(ADMIN, ("csat_comment",)),
    "sla_report": Page(ADMIN, ("subject",)),
    "success_workspace": Page(AGENT, ("organization",)),
    "success_organization": Page(AGENT, ("organization", "success_note", "nps_comment")),
    "success_task": Page(AGENT, ("organization", "task_notes")),
    "success_reports": Page(ADMIN, ()),
    # Live chat: the page a customer's launcher opens, the agents' console and the
    # customer card beside each of its chats.
    "chat_page": Page(CUSTOMER, ()),
    "agent_chat_console": Page(AGENT, ()),
    "agent_chat_context": Page(
        AGENT, ("customer", "organization"), fragment_of="agent_chat_console"
    ),
    # The chat widget in the tenant's product: its frame's shell, and the widget of the
    # customer its ticket names (the ticket, not the session, says who reads it).
    "widget_frame": Page(ANYONE, ()),
    "widget_home": Page(CUSTOMER, ("article", "customer"), {"q": "exporting invoices"}),
    "widget_article": Page(CUSTOMER, ("article", "article_body")),
}
# Pages that show none of the desk's data, and why (their own tests cover what they say).
NO_DATA = {
    "service_levels": "the desk's plans and targets, the same for every visitor",
    "feedback_form": "a form: what it is about is what the visitor will write",
    "callback_new": "a form, or on the walk's Pro plan what phone support would give "
    "(tests/phone/test_callbacks.py reads both)",
    "nps_survey": "a question about the desk itself",
    "survey_opt_out": "a question about the person's own surveys",
    "agent_presence": "who else is on the ticket: nobody, in a walk by one agent",
    "success_reports": "charts of counts; tests/success/test_reports.py reads their numbers",
    "chat_page": "Carol's plan (Pro) has no chat: what Pro+ would give, the same for all",
    "agent_chat_console": "filled by its websocket (tests/browser/test_chat.py)",
    "widget_frame": "the widget's shell knows nobody until the page posts its token",
}


# Pages seen a second time, about another object or by another reader: the agent's page of
# the solved request (its survey still to go out); a renewal conversation (its outcome
# form, dates prefilled); the success workspace as an admin.
SECOND_LOOKS = [
    ("agent_ticket", lambda data: [data.solved.number], Page(AGENT, ("solved_subject",))),
    ("success_task", lambda data: [data.renewal.pk], Page(AGENT, ("organization",))),
    # An admin oversees every organization, managed by anyone or by nobody.
    ("success_workspace", lambda data: [], Page(ADMIN, ("organization", "other_organization"))),
]


@dataclass(frozen=True)
class PageView:
    label: str
    path: str
    page: Page


def page_views(data: Data) -> list[PageView]:
    """Each described page's path with `data`, and the second looks."""
    from django.urls import reverse

    by_name = {route.name: route for route in page_routes(data)}
    views = [PageView(name, by_name[name].path, page) for name, page in PAGES.items()]
    for name, args, page in SECOND_LOOKS:
        path = reverse(name, args=args(data))
        views.append(PageView(f"{name} {path}", path, page))
    return views


def page_routes(data: Data) -> list[Route]:
    """Every route of our apps on the desk's host with no API, admin or allauth in it,
    its arguments filled from `data` (tests/routes.py)."""
    world = World(desk=data.desk, samples=route_samples(data), admin_rows={})
    return [
        route
        for route in routes(world)
        if route.host == data.desk.host
        and not route.is_api
        and not route.pattern.startswith("admin/")
        and route.view.__module__.split(".")[0] in OUR_APPS
    ]


def route_samples(data: Data) -> dict[str, str]:
    samples = {
        "attachments:key": "00000000-0000-4000-8000-000000000000",
        "images:key": "00000000-0000-4000-8000-000000000000",
        "mail:key": "00000000-0000-4000-8000-000000000000",
        "token": "not-a-token",
        "rating": "5",
        "score": "9",
        "name": "not-a-mail",
        "key": "not-a-key",
        "pk": "0",
        "rank": "2",  # a plan, by rank: Pro+, above the walk's customer's Pro
        # Routes of allauth and the admin, left out of the walks but filled all the same.
        "uidb36": "1",
        "content_type_id": "1",
        "object_id": "1",
        "url": "nowhere/",
    }
    return {**samples, **data.samples}


def client_for(data: Data, persona: str, *, language: str = "en") -> Client:
    client = data.desk.client(None if persona == "anonymous" else getattr(data.desk, persona))
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = language
    return client


def is_page(response) -> bool:
    return response.status_code == 200 and response["Content-Type"].startswith("text/html")


class _VisibleText(HTMLParser):
    """The text a person reads on a page: no markup, scripts or hidden inputs."""

    def __init__(self):
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style", "template"):
            self._skip += 1

    def handle_endtag(self, tag):
        if tag in ("script", "style", "template") and self._skip:
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


def visible_text(html: str) -> str:
    parser = _VisibleText()
    parser.feed(html)
    return re.sub(r"\s+", " ", " ".join(parser.parts)).strip()

"""The knowledge base as readers meet it: pages, visibility by plan everywhere,
search in English and Chinese, votes, and what admins learn from it."""

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from knowledge.models import Article, ArticleVote, SearchLog
from knowledge.rendering import render_article
from tests.knowledge.factories import make_article
from tests.knowledge.factories import section as _section


def _get(desk, user, path, **params):
    return desk.client(user).get(path, params)


# -- rendering ------------------------------------------------------------------------


def test_markdown_renders_headings_tables_and_code_and_no_script_survives():
    html, headings = render_article(
        "## Steps\n\n1. Open *Settings*\n\n```\ncurl -H x\n```\n\n"
        "| a | b |\n|---|---|\n| 1 | 2 |\n\n"
        "<script>alert(1)</script>\n\n<img src=x onerror=alert(1)>\n\n[x](javascript:alert(1))"
    )
    assert '<h2 id="h-steps">Steps</h2>' in html
    assert "<table>" in html and "<pre><code>curl -H x" in html
    # Raw HTML is shown as text, never as markup; the javascript: link is not a link.
    assert not re.search(r"<script|<img[^>]*onerror|href=\"javascript", html)
    assert "&lt;script&gt;" in html
    assert [h.anchor for h in headings] == ["h-steps"]


# -- pages, breadcrumbs, table of contents ------------------------------------------


def test_article_page_has_breadcrumbs_toc_date_and_contact_link(acme):
    article = make_article(
        acme,
        "Download an invoice",
        "Intro.\n\n## From the billing page\n\nSteps.\n\n## By email\n\nMore.",
    )
    page = _get(acme, None, f"/kb/articles/{article.pk}/{article.slug}/").content.decode()
    assert '<a href="/kb/">Knowledge base</a>' in page
    assert '<a href="/kb/billing/">Billing</a>' in page
    assert '<a href="/kb/billing/invoices-and-payments/">Invoices and payments</a>' in page
    assert '<a href="#h-from-the-billing-page">From the billing page</a>' in page
    assert '<h2 id="h-by-email">By email</h2>' in page
    assert "Last updated" in page
    assert f'href="/tickets/new/?article={article.pk}"' in page


def test_a_wrong_slug_redirects_to_the_article(acme):
    article = make_article(acme, "Download an invoice")
    response = _get(acme, None, f"/kb/articles/{article.pk}/old-title/")
    assert response.status_code == 302
    assert response["Location"] == f"/kb/articles/{article.pk}/{article.slug}/"


def test_drafts_are_nowhere(acme):
    draft = make_article(acme, "Secret roadmap", status=Article.Status.DRAFT)
    assert _get(acme, acme.customer, f"/kb/articles/{draft.pk}/{draft.slug}/").status_code == 404
    assert "Secret roadmap" not in _get(acme, acme.customer, "/kb/").content.decode()
    assert (
        "Secret roadmap"
        not in _get(acme, acme.customer, "/kb/search/", q="roadmap").content.decode()
    )


# -- visibility by plan, on every surface ---------------------------------------------


@pytest.fixture
def pro_only(acme):
    return make_article(
        acme,
        "Set up SAML single sign-on",
        "## Steps\n\nConfigure SAML single sign-on with Okta.",
        plans=[acme.pro, acme.pro_plus],
        labels=["sso", "saml"],
        section=_section(acme, "Account", "Sign-in and security"),
    )


@pytest.fixture
def public_sso(acme):
    return make_article(
        acme,
        "Sign in with your company account",
        "## How\n\nUse single sign-on if your admin set it up.",
        labels=["sso"],
        section=_section(acme, "Account", "Sign-in and security"),
    )


def test_plan_only_article_is_absent_for_a_free_customer_everywhere(acme, pro_only, public_sso):
    free = acme.other_customer  # on the Free plan
    url = f"/kb/articles/{pro_only.pk}/{pro_only.slug}/"
    assert _get(acme, free, url).status_code == 404
    for path, params in [
        ("/kb/", {}),
        ("/kb/account/", {}),
        ("/kb/account/sign-in-and-security/", {}),
        ("/kb/search/", {"q": "SAML single sign-on"}),
        ("/kb/search.json", {"q": "SAML single sign-on"}),
        (f"/kb/articles/{public_sso.pk}/{public_sso.slug}/", {}),  # related articles
    ]:
        body = _get(acme, free, path, **params).content.decode()
        assert "Set up SAML" not in body, path
    # The Pro customer sees it, and so do anonymous visitors... not.
    assert _get(acme, acme.customer, url).status_code == 200
    assert _get(acme, None, url).status_code == 404
    assert "Set up SAML" in _get(acme, acme.customer, "/kb/search/", q="saml").content.decode()


def test_signed_in_articles_need_a_sign_in(acme):
    article = make_article(acme, "Your account's audit log", visibility="signed_in")
    url = f"/kb/articles/{article.pk}/{article.slug}/"
    assert _get(acme, None, url).status_code == 404
    assert _get(acme, acme.other_customer, url).status_code == 200


def test_agents_see_every_published_article(acme, pro_only):
    assert _get(acme, acme.agent, f"/kb/articles/{pro_only.pk}/{pro_only.slug}/").status_code == 200


def test_another_desks_articles_are_never_shown(acme, globex):
    theirs = make_article(globex, "Globex secret pricing")
    suggested = acme.client(acme.customer).get("/kb/suggest/", {"subject": "secret pricing"})
    assert "Globex secret" not in suggested.content.decode()
    assert _get(acme, acme.customer, f"/kb/articles/{theirs.pk}/{theirs.slug}/").status_code == 404
    assert (
        "Globex secret" not in _get(acme, None, "/kb/search/", q="secret pricing").content.decode()
    )
    assert "Globex secret" not in _get(acme, None, "/kb/").content.decode()


# -- search ----------------------------------------------------------------------------


@pytest.fixture
def library(acme):
    account = _section(acme, "Account", "Sign-in and security")
    return {
        "password": make_article(
            acme,
            "Reset your password",
            "## Steps\n\nClick *Forgot password* on the sign-in page and follow the email.",
            labels=["password", "login"],
            section=account,
        ),
        "invoice": make_article(
            acme,
            "Download an invoice",
            "Invoices are on the billing page as PDF.",
            labels=["invoice", "billing"],
        ),
        "fapiao": make_article(
            acme,
            "如何开具增值税发票",
            "## 申请步骤\n\n在账单页面填写公司名称和税号，即可申请开具发票。",
            labels=["发票", "invoice"],
            language="zh-hans",
        ),
        "reset_zh": make_article(
            acme,
            "如何重置密码",
            "在登录页面点击“忘记密码”，按邮件中的链接设置新密码。",
            labels=["密码"],
            language="zh-hans",
            section=account,
        ),
        "export": make_article(
            acme,
            "Exports time out on large date ranges",
            "Split the date range or schedule the CSV export by email.",
            labels=["export", "csv"],
            section=_section(acme, "Troubleshooting", "Exports"),
        ),
    }


def _titles(desk, query, user=None):
    data = desk.client(user).get("/kb/search.json", {"q": query}).json()
    return [result["title"] for result in data["results"]]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("reset password", "Reset your password"),
        ("resetting passwords", "Reset your password"),  # English stemming
        ("invoice", "Download an invoice"),
        ("发票", "如何开具增值税发票"),  # Chinese word inside a longer title
        ("如何重置密码", "如何重置密码"),
        ("开发票需要什么信息", "如何开具增值税发票"),
        ("CSV 导出 export", "Exports time out on large date ranges"),  # mixed
        ("pasword reset", "Reset your password"),  # typo: trigram fallback
        ("exprot timeout", "Exports time out on large date ranges"),
    ],
)
def test_search_finds_the_right_article_first(acme, library, query, expected):
    assert _titles(acme, query)[:1] == [expected]


def test_the_title_outweighs_the_body(acme, library):
    make_article(acme, "Billing overview", "You can also download an invoice from here.")
    assert _titles(acme, "invoice")[0] == "Download an invoice"


def test_snippets_mark_the_words_and_escape_the_rest(acme, library):
    make_article(acme, "Odd <b>markup</b>", "Use <em>export</em> carefully & export often.")
    page = _get(acme, None, "/kb/search/", q="export").content.decode()
    assert "<mark>export</mark>" in page.lower()
    assert "&lt;em&gt;" in page and "<em>export" not in page


def test_a_search_with_no_results_is_logged_for_admins(acme, library):
    _get(acme, acme.customer, "/kb/search/", q="quantum teleportation")
    _get(acme, None, "/kb/search/", q="Quantum   teleportation")
    _get(acme, None, "/kb/search/", q="invoice")  # found: not logged
    with acme.scope():
        assert list(SearchLog.objects.values_list("normalized", flat=True)) == [
            "quantum teleportation",
            "quantum teleportation",
        ]
    page = _get(acme, acme.admin, "/agent/kb/insights/").content.decode()
    assert "<td>quantum teleportation</td><td>2</td>" in page
    assert _get(acme, acme.agent, "/agent/kb/insights/").status_code == 403
    assert "quantum" not in _get(acme, acme.agent, "/kb/").content.decode()


def test_failed_searches_of_another_desk_stay_there(acme, globex):
    _get(globex, None, "/kb/search/", q="globex only question")
    assert "globex only" not in _get(acme, acme.admin, "/agent/kb/insights/").content.decode()


# -- votes -----------------------------------------------------------------------------


def test_one_vote_per_person_which_they_can_change(acme, library):
    article = library["invoice"]
    client = acme.client(acme.customer)
    client.post(f"/kb/articles/{article.pk}/vote/", {"helpful": "yes"})
    client.post(f"/kb/articles/{article.pk}/vote/", {"helpful": "no"})
    with acme.scope():
        assert list(ArticleVote.objects.values_list("helpful", flat=True)) == [False]
    # Visitors are asked to sign in; nothing is recorded.
    response = acme.client().post(f"/kb/articles/{article.pk}/vote/", {"helpful": "yes"})
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_no_vote_on_an_article_the_reader_may_not_see(acme, pro_only):
    response = acme.client(acme.other_customer).post(
        f"/kb/articles/{pro_only.pk}/vote/", {"helpful": "yes"}
    )
    assert response.status_code == 404
    with acme.scope():
        assert not ArticleVote.objects.exists()


# -- query counts ------------------------------------------------------------------------


KB_PAGES = [
    ("/kb/", {}),
    ("/kb/billing/", {}),
    ("/kb/billing/invoices-and-payments/", {}),
    ("/kb/search/", {"q": "invoice question"}),
]


def _query_counts(client):
    counts = {}
    for path, params in KB_PAGES:
        client.get(path, params)  # warm caches
        with CaptureQueriesContext(connection) as queries:
            assert client.get(path, params).status_code == 200
        counts[path] = len(queries)
    return counts


def test_a_category_page_costs_the_same_queries_whatever_its_number_of_sections(acme):
    client = acme.client(acme.customer)
    make_article(acme, "Invoice question", section=_section(acme, "Billing", "Invoices"))

    def category_queries():
        client.get("/kb/billing/")
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/kb/billing/").status_code == 200
        return len(queries)

    one = category_queries()
    for name in ("Refunds", "Taxes", "Payment methods"):
        make_article(acme, f"About {name}", section=_section(acme, "Billing", name))
    assert category_queries() == one


def test_pages_cost_the_same_queries_whatever_the_number_of_articles(acme):
    client = acme.client(acme.customer)
    for n in range(3):
        make_article(acme, f"Invoice question {n}", labels=["invoice"])
    few = _query_counts(client)
    for n in range(3, 15):
        make_article(acme, f"Invoice question {n}", labels=["invoice"])
    assert _query_counts(client) == few


# -- deflection while filing a request ----------------------------------------------------


def test_suggestions_follow_what_the_customer_types_and_respect_the_plan(acme, library, pro_only):
    free = acme.client(acme.other_customer)
    page = free.get("/kb/suggest/", {"subject": "reset my password", "body": ""}).content.decode()
    assert "Reset your password" in page
    assert f'href="/kb/articles/{library["password"].pk}/?from=suggestion"' in page
    sso = free.get("/kb/suggest/", {"subject": "SAML single sign-on"}).content.decode()
    assert "Set up SAML" not in sso
    assert (
        "Set up SAML"
        in acme.client(acme.customer)
        .get("/kb/suggest/", {"subject": "SAML single sign-on"})
        .content.decode()
    )
    # The form asks for them as the customer types.
    form = free.get("/tickets/new/").content.decode()
    assert 'hx-get="/kb/suggest/"' in form and 'hx-include="#id_subject, #id_body"' in form


def test_an_opened_suggestion_counts_as_deflected_unless_the_customer_files(acme, library):
    from datetime import UTC, datetime

    import time_machine

    from knowledge.models import Deflection

    client = acme.client(acme.customer)
    article = library["password"]
    # A Wednesday noon: both openings fall in one week of the report, whatever the
    # day and hour the suite runs (at 00:20 on a Monday they would not).
    start = datetime(2026, 12, 2, 12, tzinfo=UTC)
    with time_machine.travel(start - timedelta(hours=2), tick=False):
        response = client.get(f"/kb/articles/{article.pk}/?from=suggestion")
    assert response.status_code == 302  # to the article's own address, without the marker
    with time_machine.travel(start - timedelta(minutes=5), tick=False):
        client.get(f"/kb/articles/{article.pk}/?from=suggestion")
        client.post(
            "/tickets/new/",
            {
                "subject": "Still locked out",
                "category": category_pk(acme),
                "priority": 3,
                "body": "The reset email never came.",
            },
        )
    with acme.scope():
        rows = list(Deflection.objects.order_by("opened_at").values_list("ticket", flat=True))
    assert rows[0] is None and rows[1] is not None  # helped once, filed anyway once
    with time_machine.travel(start, tick=False):
        page = acme.client(acme.admin).get("/agent/kb/insights/").content.decode()
    assert "<td>2</td><td>1</td><td>50.0%</td>" in page


def test_contact_us_from_an_article_files_with_the_article_as_context(acme, library):
    article = library["invoice"]
    client = acme.client(acme.customer)
    form = client.get("/tickets/new/", {"article": article.pk}).content.decode()
    assert "About the article “Download an invoice”" in form
    client.post(
        "/tickets/new/",
        {
            "subject": "Invoice missing",
            "category": category_pk(acme),
            "priority": 3,
            "body": "I can't find March.",
            "article": article.pk,
        },
    )
    from tickets.models import Message

    with acme.scope():
        body = Message.objects.get(ticket__subject="Invoice missing").body
    assert f"/kb/articles/{article.pk}/{article.slug}/" in body


def category_pk(desk):
    from tickets.models import Category as TicketCategory

    with desk.scope():
        return TicketCategory.objects.get(name="Account").pk


# -- API ---------------------------------------------------------------------------------


def test_api_lists_reads_and_searches_with_the_help_centers_rules(acme, library, pro_only):
    from tests.api.helpers import token_client

    anonymous = acme.client()
    titles = [a["title"] for a in anonymous.get("/api/v1/kb/articles/").json()["results"]]
    assert "Reset your password" in titles and "Set up SAML single sign-on" not in titles
    assert anonymous.get(f"/api/v1/kb/articles/{pro_only.pk}/").status_code == 404
    found = anonymous.get("/api/v1/kb/articles/search/", {"q": "发票"}).json()["results"]
    assert found[0]["title"] == "如何开具增值税发票" and "<mark>发票</mark>" in found[0]["snippet"]
    assert anonymous.get("/api/v1/kb/articles/search/").status_code == 400
    # A Pro customer's token sees the Pro article; a Free customer's does not.
    pro = token_client(acme, acme.customer)
    assert pro.get(f"/api/v1/kb/articles/{pro_only.pk}/").json()["title"] == pro_only.title
    free = token_client(acme, acme.other_customer)
    assert free.get(f"/api/v1/kb/articles/{pro_only.pk}/").status_code == 404
    slugs = [c["slug"] for c in anonymous.get("/api/v1/kb/categories/").json()["results"]]
    assert "billing" in slugs


def test_api_never_shows_another_desks_articles(acme, globex):
    theirs = make_article(globex, "Globex secret pricing")
    client = acme.client()
    assert client.get(f"/api/v1/kb/articles/{theirs.pk}/").status_code == 404
    assert (
        client.get("/api/v1/kb/articles/search/", {"q": "secret pricing"}).json()["results"] == []
    )


def test_a_link_to_a_missing_or_draft_article_is_reported_to_admins(acme):
    draft = make_article(acme, "Coming soon", status=Article.Status.DRAFT)
    live = make_article(acme, "Live one")
    article = make_article(
        acme,
        "Links everywhere",
        f"See [live](/kb/articles/{live.pk}/{live.slug}/), [soon](/kb/articles/{draft.pk}/x/) "
        "and [gone](/kb/articles/999999/old/).",
    )
    assert article.broken_links == [f"/kb/articles/{draft.pk}/x/", "/kb/articles/999999/old/"]
    page = acme.client(acme.admin).get("/agent/kb/insights/").content.decode()
    assert "Links everywhere" in page and "/kb/articles/999999/old/" in page


# -- pictures ----------------------------------------------------------------------------

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00"
    b"\x00\x00\x00IEND\xaeB`\x82"
)


def _upload(desk, name, content, content_type):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return desk.client(desk.admin).post(
        "/admin/knowledge/articleimage/add/",
        {"name": name, "file": SimpleUploadedFile(name, content, content_type)},
    )


def test_an_admin_uploads_a_picture_that_articles_show(acme, globex):
    from knowledge.models import ArticleImage

    response = _upload(acme, "dashboard.png", PNG, "image/png")
    assert response.status_code == 302
    with acme.scope():
        image = ArticleImage.objects.get()
    served = acme.client().get(image.url)
    assert served.status_code == 200 and served["Content-Type"] == "image/png"
    assert b"".join(served.streaming_content) == PNG
    article = make_article(acme, "With a picture", f"![Dashboard]({image.url})")
    assert f'<img src="{image.url}" alt="Dashboard">' in article.body_html
    # Another desk cannot load it through its own host.
    assert globex.client().get(image.url).status_code == 404


@pytest.mark.parametrize(
    ("name", "content", "content_type", "error"),
    [
        ("logo.svg", b"<svg onload=alert(1)>", "image/svg+xml", "Upload a PNG, JPEG, GIF or WebP"),
        ("fake.png", b"<html>not a picture</html>", "image/png", "not the picture its name says"),
    ],
)
def test_pictures_that_are_not_safe_pictures_are_refused(acme, name, content, content_type, error):
    from knowledge.models import ArticleImage

    response = _upload(acme, name, content, content_type)
    assert response.status_code == 200 and error in response.content.decode()
    with acme.scope():
        assert not ArticleImage.objects.exists()


def test_a_passing_mention_does_not_make_a_result(acme, library):
    long_body = "Our billing overview. " * 60 + "You can export this too."
    make_article(acme, "Billing overview", long_body)
    # No article has both words; "any word" finds the password article by its title
    # and drops the one that mentions "export" once in a long body.
    titles = _titles(acme, "password export")
    assert "Reset your password" in titles
    assert "Billing overview" not in titles


def test_typos_are_corrected_against_words_added_a_moment_ago(acme, library):
    assert "Print shipping labels" not in _titles(acme, "shiping labels")
    make_article(acme, "Print shipping labels", "From the orders page.")
    assert _titles(acme, "shiping lables")[:1] == ["Print shipping labels"]

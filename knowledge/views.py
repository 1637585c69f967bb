"""The knowledge base in the help center: open to visitors for what is public,
and to signed-in customers for what their plan includes."""

from django.http import FileResponse, Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import get_language
from django.views.decorators.http import require_GET, require_POST

from helpdesk.access import role_required
from helpdesk.models import Membership, Role
from helpdesk.stored_files import open_or_404
from helpdesk.tenancy import tenant_url
from knowledge import search as kb_search
from knowledge.models import Article, ArticleImage, ArticleVote, Category, Section
from knowledge.rendering import render_article
from knowledge.selectors import (
    articles_with_broken_links,
    categories_with_sections,
    deflection_by_week,
    failed_searches,
    one_version_each,
    related_articles,
    stale_articles,
    visible_articles,
)
from knowledge.services import (
    article_view_record,
    article_vote,
    deflection_opened,
    search_log_miss,
)
from tickets.selectors import ticket_for_agent

SEARCH_RESULTS = 20
SUGGESTIONS = 5


def _readable(request):
    """What this reader may see, one version of each article in their language."""
    language = "zh-hans" if get_language().startswith("zh") else "en"
    return one_version_each(visible_articles(request.membership), language)


@require_GET
def kb_home(request):
    articles = _readable(request)
    return render(
        request,
        "knowledge/home.html",
        {
            "categories": categories_with_sections(articles),
            "promoted": articles.filter(promoted=True).select_related("section__category")[:6],
        },
    )


@require_GET
def kb_category(request, slug: str):
    articles = _readable(request)
    category = get_object_or_404(Category, slug=slug)
    # One query for the category's articles, grouped by section in order (not one per section).
    by_section: dict[int, list[Article]] = {}
    for article in articles.filter(section__category=category).order_by("position", "title"):
        by_section.setdefault(article.section_id, []).append(article)
    sections = [
        (section, by_section[section.pk])
        for section in category.sections.order_by("position", "name")
        if section.pk in by_section
    ]
    if not sections:
        raise Http404
    return render(request, "knowledge/category.html", {"category": category, "sections": sections})


@require_GET
def kb_section(request, category_slug: str, slug: str):
    section = get_object_or_404(
        Section.objects.select_related("category"), category__slug=category_slug, slug=slug
    )
    listed = list(_readable(request).filter(section=section).order_by("position", "title"))
    if not listed:
        raise Http404
    return render(request, "knowledge/section.html", {"section": section, "articles": listed})


def _article_or_404(request, pk: int) -> Article:
    article = (
        visible_articles(request.membership)
        .select_related("section__category")
        .filter(pk=pk)
        .first()
    )
    if article is None:
        raise Http404
    return article


@require_GET
def kb_article(request, pk: int, slug: str = ""):
    article = _article_or_404(request, pk)
    if request.GET.get("from") == "suggestion" and _is_customer(request):
        # Opened from the new-request form's suggestions: did it spare a ticket?
        deflection_opened(article=article, user=request.user)
        return redirect("kb_article", pk=article.pk, slug=article.slug)
    if slug != article.slug:
        return redirect("kb_article", pk=article.pk, slug=article.slug)
    if not _is_staff(request):
        # Readers only: the desk's own people looking up an article are not demand.
        article_view_record(article=article)
    _html, headings = render_article(article.body)
    visible = visible_articles(request.membership)
    vote = None
    if request.user.is_authenticated:
        vote = ArticleVote.objects.filter(article=article, user=request.user).first()
    return render(
        request,
        "knowledge/article.html",
        {
            "article": article,
            "headings": headings,
            "translations": visible.filter(group_id=article.group_id).exclude(pk=article.pk),
            "related": related_articles(article, _readable(request)),
            "vote": vote,
        },
    )


@require_POST
def kb_vote(request, pk: int):
    if not request.user.is_authenticated or request.membership is None:
        return redirect(f"{reverse('account_login')}?next={request.path}")
    article = _article_or_404(request, pk)
    article_vote(article=article, user=request.user, helpful=request.POST.get("helpful") == "yes")
    if request.htmx:
        return render(request, "knowledge/_vote.html", {"article": article, "voted": True})
    return redirect("kb_article", pk=article.pk, slug=article.slug)


@require_GET
def kb_search_page(request):
    query = request.GET.get("q", "").strip()[:200]
    hits = kb_search.search(
        visible_articles(request.membership),
        query,
        tenant_id=request.tenant.pk,
        limit=SEARCH_RESULTS,
    )
    if query and not hits:
        search_log_miss(tenant=request.tenant, query=query, user=_user(request))
    return render(request, "knowledge/search.html", {"query": query, "hits": hits})


@require_GET
def kb_search_json(request):
    """Search as you type: titles, links and snippets, best first."""
    query = request.GET.get("q", "").strip()[:200]
    hits = kb_search.search(
        visible_articles(request.membership), query, tenant_id=request.tenant.pk, limit=SUGGESTIONS
    )
    return JsonResponse(
        {
            "query": query,
            "results": [
                {
                    "id": hit.article.pk,
                    "title": hit.article.title,
                    "url": reverse("kb_article", args=[hit.article.pk, hit.article.slug]),
                    "snippet": str(hit.snippet),
                    "language": hit.article.language,
                }
                for hit in hits
            ],
        }
    )


def _user(request):
    return request.user if request.user.is_authenticated else None


def _is_staff(request) -> bool:
    membership = request.membership
    return request.user.is_superuser or (membership is not None and membership.is_staff_member)


def _is_customer(request) -> bool:
    membership = request.membership
    return membership is not None and not membership.is_staff_member


@require_GET
@role_required(Role.CUSTOMER)
def kb_suggest(request):
    """Articles matching what a customer is typing into a new request (htmx)."""
    text = f"{request.GET.get('subject', '')} {request.GET.get('body', '')[:300]}".strip()
    hits = []
    if len(text) >= 3:
        hits = kb_search.search(
            visible_articles(request.membership), text, tenant_id=request.tenant.pk, limit=5
        )
    return render(request, "knowledge/_suggestions.html", {"hits": hits})


# Articles suggested beside a ticket.
TICKET_SUGGESTIONS = 5


@require_GET
@role_required(Role.AGENT)
def agent_ticket_articles(request, number: int):
    """Beside a ticket (htmx, after the page): articles its words suggest, internal ones
    included, each public one the requester may read with a link to put in the reply."""
    ticket = ticket_for_agent(number, member=request.membership, related=())
    first = ticket.messages.filter(is_internal=False).order_by("pk").only("body").first()
    text = f"{ticket.subject} {first.body[:300] if first else ''}"
    hits = kb_search.search(
        visible_articles(request.membership),
        text,
        tenant_id=request.tenant.pk,
        limit=TICKET_SUGGESTIONS,
    )
    requester = (
        Membership.objects.filter(user_id=ticket.requester_id, is_active=True)
        .select_related("organization__plan")
        .first()
    )
    readable = set(
        visible_articles(requester)
        .filter(pk__in=[hit.article.pk for hit in hits])
        .values_list("pk", flat=True)
    )
    suggestions = [
        {
            "hit": hit,
            "markdown": _markdown_link(hit.article, request.tenant)
            if hit.article.pk in readable
            else None,
        }
        for hit in hits
    ]
    return render(request, "knowledge/_ticket_articles.html", {"suggestions": suggestions})


def _markdown_link(article: Article, tenant) -> str:
    """`[Title](https://desk/kb/articles/7/slug/)`, the title's brackets escaped."""
    title = article.title.replace("[", "\\[").replace("]", "\\]")
    url = tenant_url(tenant, reverse("kb_article", args=[article.pk, article.slug]))
    return f"[{title}]({url})"


@require_GET
@role_required(Role.ADMIN)
def kb_insights(request):
    """For admins: what people searched for and did not find, and articles gone stale."""
    return render(
        request,
        "knowledge/insights.html",
        {
            "failed": failed_searches(days=30),
            "stale": stale_articles(),
            "deflection": deflection_by_week(),
            "broken": articles_with_broken_links(),
        },
    )


@require_GET
def kb_image(request, key):
    """A knowledge-base picture; pictures are public like the articles that show them."""
    image = get_object_or_404(ArticleImage, key=key)
    response = FileResponse(
        open_or_404(image.file, what=f"Knowledge-base picture {image.key}"),
        content_type=image.content_type,
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "public, max-age=86400"
    return response

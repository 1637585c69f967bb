"""Which articles a reader may see, and reading them.

Content a reader's plan may not see, and internal knowledge for anyone but the desk's
staff, is absent everywhere (lists, search, suggestions, related articles, the API, the
widget): every read starts from `visible_articles`.
"""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Q, QuerySet

from helpdesk.models import Membership, Role
from knowledge.models import Article, Category, Section
from tickets.models import GroupMember


def visible_articles(membership: Membership | None) -> QuerySet[Article]:
    """Published articles the reader may see: everyone's to anyone; signed-in
    customers' to members; plan-only ones to customers on those plans. The desk's
    admins see every published article, its agents every one but the internal
    articles of groups they are not in. Internal articles reach no customer."""
    articles = Article.objects.filter(status=Article.Status.PUBLISHED)
    if membership is not None and membership.is_active and membership.is_staff_member:
        if membership.role == Role.ADMIN:
            return articles
        their_groups = GroupMember.objects.filter(agent_id=membership.user_id).values("group")
        return articles.exclude(Q(visibility=Article.Visibility.GROUP) & ~Q(team__in=their_groups))
    allowed = Q(visibility=Article.Visibility.EVERYONE)
    if membership is not None and membership.is_active:
        from plans.selectors import plan_for_membership

        allowed |= Q(visibility=Article.Visibility.SIGNED_IN)
        plan = plan_for_membership(membership)
        if plan is not None:
            # EXISTS rather than a join: no duplicate rows, so no DISTINCT over
            # every column (which made search ten times slower).
            on_plan = Article.plans.through.objects.filter(article=OuterRef("pk"), plan=plan)
            allowed |= Q(visibility=Article.Visibility.PLANS) & Q(Exists(on_plan))
    return articles.filter(allowed)


def article_for_context(membership: Membership | None, pk) -> Article | None:
    """The article a request is asked from, if the customer may read it."""
    try:
        pk = int(pk)
    except (TypeError, ValueError):
        return None
    return visible_articles(membership).filter(pk=pk).first()


def one_version_each(articles: QuerySet[Article], language: str) -> QuerySet[Article]:
    """Of each article's versions, the one in `language`, or the others when it
    has none in that language."""
    in_language = articles.filter(group_id=OuterRef("group_id"), language=language)
    return articles.filter(Q(language=language) | ~Exists(in_language))


def categories_with_sections(articles: QuerySet[Article]) -> list[Category]:
    """Categories that have something to read, each with its sections' visible articles."""
    from django.db.models import Prefetch

    sections = Section.objects.filter(articles__in=articles).distinct().order_by("position", "name")
    return list(
        Category.objects.filter(sections__articles__in=articles)
        .distinct()
        .order_by("position", "name")
        .prefetch_related(Prefetch("sections", queryset=sections))
    )


def related_articles(article: Article, articles: QuerySet[Article], limit: int = 5):
    """Same section and shared labels first, then the rest of the section."""
    others = articles.exclude(group_id=article.group_id)
    same_labels = list(others.filter(labels__overlap=article.labels or ["-"])[:limit])
    if len(same_labels) < limit:
        seen = [a.pk for a in same_labels]
        same_labels += list(
            others.filter(section=article.section_id).exclude(pk__in=seen)[: limit - len(seen)]
        )
    return same_labels


STALE_AFTER_DAYS = 180


def failed_searches(days: int = 30, limit: int = 50, *, start=None, end=None) -> list[dict]:
    """The most frequent searches that found nothing: what to write next. Over the
    last `days`, or from `start` to `end` when given."""
    from datetime import timedelta

    from django.db.models import Count, Max
    from django.utils import timezone

    from knowledge.models import SearchLog

    logs = SearchLog.objects.filter(created_at__gte=start or timezone.now() - timedelta(days=days))
    if end is not None:
        logs = logs.filter(created_at__lt=end)
    return list(
        logs.values("normalized")
        .annotate(times=Count("pk"), last=Max("created_at"))
        .order_by("-times", "normalized")[:limit]
    )


def stale_articles(days: int = STALE_AFTER_DAYS) -> QuerySet[Article]:
    from datetime import timedelta

    from django.utils import timezone

    cutoff = timezone.now() - timedelta(days=days)
    return Article.objects.filter(status=Article.Status.PUBLISHED, updated_at__lt=cutoff).order_by(
        "updated_at"
    )


def settled_deflections(now=None):
    """Suggested articles opened whose outcome is known: a request was filed within
    the window (not deflected), or the window has passed without one (deflected).
    Those still inside their window count nowhere yet."""
    from django.db.models import Q
    from django.utils import timezone

    from knowledge.models import Deflection
    from knowledge.services import DEFLECTION_WINDOW

    now = now or timezone.now()
    return Deflection.objects.filter(
        Q(ticket__isnull=False) | Q(opened_at__lt=now - DEFLECTION_WINDOW)
    )


def deflection_rate(opened: int, filed: int) -> float | None:
    """The share of settled suggestions that spared a request, in percent."""
    return round(100 * (opened - filed) / opened, 1) if opened else None


def deflection_by_week(weeks: int = 12) -> list[dict]:
    """Per week: suggested articles opened, how many were followed by a request
    anyway, and the deflection rate (the rest, once their window has passed)."""
    from datetime import timedelta

    from django.db.models import Count, Q
    from django.db.models.functions import TruncWeek
    from django.utils import timezone

    now = timezone.now()
    rows = (
        settled_deflections(now)
        .filter(opened_at__gte=now - timedelta(weeks=weeks))
        .annotate(week=TruncWeek("opened_at"))
        .values("week")
        .annotate(opened=Count("pk"), filed=Count("pk", filter=Q(ticket__isnull=False)))
        .order_by("-week")
    )
    return [{**row, "rate": deflection_rate(row["opened"], row["filed"])} for row in rows]


def articles_with_broken_links() -> QuerySet[Article]:
    return Article.objects.exclude(broken_links=[]).order_by("title")

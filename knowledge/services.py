"""Every write to the knowledge base: saving articles (rendered and indexed on
the way), votes, the failed-search log."""

from __future__ import annotations

import re
from datetime import date, timedelta

from django.db import connection, transaction
from django.utils import timezone

from helpdesk.models import Tenant, User
from knowledge.models import Article, ArticleViewDay, ArticleVote, Deflection, SearchLog
from knowledge.rendering import render_article
from knowledge.search import forget_vocabulary, index_article

_INTERNAL_LINK = re.compile(r"\]\((/kb/articles/(\d+)/[^)\s]*)\)")


def broken_links(article: Article) -> list[str]:
    """Links in the body to articles of this desk that are missing or not published."""
    links = {int(pk): url for url, pk in _INTERNAL_LINK.findall(article.body)}
    published = set(
        Article.objects.filter(pk__in=links, status=Article.Status.PUBLISHED).values_list(
            "pk", flat=True
        )
    )
    return sorted(url for pk, url in links.items() if pk not in published)


@transaction.atomic
def article_save(article: Article, *, touch: bool = True) -> Article:
    """Render, index and save an article (admin, import and demo all come here)."""
    article.body_html, _headings = render_article(article.body)
    article.broken_links = broken_links(article)
    index_article(article)
    if touch:
        article.updated_at = timezone.now()
    if article.translation_of_id:
        article.group_id = article.translation_of.group_id or article.translation_of_id
    article.save()
    # Now, and again after commit: a search that reloaded meanwhile read old rows.
    forget_vocabulary(article.tenant_id)
    transaction.on_commit(lambda: forget_vocabulary(article.tenant_id))
    if article.group_id is None:
        article.group_id = article.pk
        Article.objects.filter(pk=article.pk).update(group_id=article.pk)
    return article


def article_vote(*, article: Article, user: User, helpful: bool) -> ArticleVote:
    """One vote per person and article; voting again changes it."""
    vote, _created = ArticleVote.objects.update_or_create(
        tenant_id=article.tenant_id,
        article=article,
        user=user,
        defaults={"helpful": helpful, "updated_at": timezone.now()},
    )
    return vote


def article_view_record(*, article: Article, day: date | None = None) -> None:
    """Count one reading of `article` on `day` (default: today in the current time
    zone, the desk's in a request). One statement: concurrent readers of the same
    article add up instead of racing to create the day's row."""
    table = connection.ops.quote_name(ArticleViewDay._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (tenant_id, article_id, day, views) "  # noqa: S608 - our table name
            "VALUES (%s, %s, %s, 1) ON CONFLICT (tenant_id, article_id, day) "
            f"DO UPDATE SET views = {table}.views + 1",
            [article.tenant_id, article.pk, day or timezone.localdate()],
        )


def search_log_miss(*, tenant: Tenant, query: str, user: User | None) -> None:
    """Remember a search that found nothing (admins see the most frequent)."""
    query = " ".join(query.split())[:200]
    if query:
        SearchLog.objects.create(tenant=tenant, query=query, normalized=query.lower(), user=user)


# A customer who files within this time of opening a suggested article was not
# helped by it; one who does not, was (deflected).
DEFLECTION_WINDOW = timedelta(minutes=30)


def deflection_opened(*, article: Article, user: User) -> Deflection:
    return Deflection.objects.create(tenant_id=article.tenant_id, article=article, user=user)


def deflection_filed(*, ticket, user: User) -> int:
    """The customer filed anyway: their suggestions opened just before did not help."""
    since = timezone.now() - DEFLECTION_WINDOW
    return Deflection.objects.filter(user=user, opened_at__gte=since, ticket=None).update(
        ticket=ticket
    )

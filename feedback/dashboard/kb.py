"""Knowledge-base figures: article views, helpful votes, deflection, failed searches."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db.models import Count, Q, Sum

from feedback.dashboard.base import Compare, Scope, per_bucket, percent_of
from knowledge.models import ArticleViewDay, ArticleVote
from knowledge.selectors import deflection_rate, failed_searches, settled_deflections

# -- knowledge base -----------------------------------------------------------------------


@dataclass(frozen=True)
class Votes:
    helpful: int
    not_helpful: int

    @property
    def percent_helpful(self) -> float | None:
        return percent_of(self.helpful, self.helpful + self.not_helpful)


@dataclass(frozen=True)
class Deflections:
    opened: int  # suggested articles opened whose outcome is known
    filed: int  # ... followed by a request anyway

    @property
    def deflected(self) -> int:
        return self.opened - self.filed

    @property
    def rate(self) -> float | None:
        return deflection_rate(self.opened, self.filed)


@dataclass
class Knowledge:
    buckets: list[date]
    views: list[int]
    votes: list[Votes]
    deflections: list[Deflections]
    views_total: Compare
    votes_total: tuple[Votes, Votes]  # current, previous
    deflections_total: tuple[Deflections, Deflections]
    top_articles: list[dict]  # article, title, views
    failed_searches: list[dict]  # normalized, times, last

    @property
    def percent_helpful(self) -> Compare:
        current, previous = self.votes_total
        return Compare(current.percent_helpful, previous.percent_helpful)

    @property
    def deflection_rate(self) -> Compare:
        current, previous = self.deflections_total
        return Compare(current.rate, previous.rate)


def knowledge(scope: Scope, *, top: int = 10) -> Knowledge:
    period, previous = scope.period, scope.period.previous
    this_period = Q(day__gte=period.start, day__lte=period.end)
    view_rows = list(
        ArticleViewDay.objects.filter(day__gte=previous.start, day__lte=period.end)
        .annotate(bucket=scope.period_bucket("day", is_date=True))
        .values("bucket")
        .annotate(
            views_sum=Sum("views", filter=this_period, default=0),
            prev_views=Sum("views", filter=Q(day__lte=previous.end), default=0),
        )
        .order_by()
    )
    top_articles = list(
        ArticleViewDay.objects.filter(this_period)
        .values("article", "article__title")
        .annotate(views_sum=Sum("views"))
        .order_by("-views_sum", "article__title")[:top]
    )
    now, before = scope.in_period("updated_at"), scope.in_previous("updated_at")
    vote_rows = list(
        ArticleVote.objects.filter(updated_at__gte=scope.previous_start, updated_at__lt=scope.end)
        .annotate(bucket=scope.period_bucket("updated_at"))
        .values("bucket")
        .annotate(
            # Not named `helpful`: the filters below must read the column, not an annotation.
            yes=Count("pk", filter=now & Q(helpful=True)),
            no=Count("pk", filter=now & Q(helpful=False)),
            prev_yes=Count("pk", filter=before & Q(helpful=True)),
            prev_no=Count("pk", filter=before & Q(helpful=False)),
        )
        .order_by()
    )
    now, before = scope.in_period("opened_at"), scope.in_previous("opened_at")
    filed = Q(ticket__isnull=False)
    deflection_rows = list(
        settled_deflections(scope.now)
        .filter(opened_at__gte=scope.previous_start, opened_at__lt=scope.end)
        .annotate(bucket=scope.period_bucket("opened_at"))
        .values("bucket")
        .annotate(
            opened=Count("pk", filter=now),
            filed=Count("pk", filter=now & filed),
            prev_opened=Count("pk", filter=before),
            prev_filed=Count("pk", filter=before & filed),
        )
        .order_by()
    )
    buckets = scope.buckets()
    views = {r["bucket"]: r["views_sum"] for r in view_rows if r["bucket"] is not None}
    votes = {r["bucket"]: Votes(r["yes"], r["no"]) for r in vote_rows if r["bucket"] is not None}
    deflections = {
        r["bucket"]: Deflections(r["opened"], r["filed"])
        for r in deflection_rows
        if r["bucket"] is not None
    }

    def total(rows, *keys):
        return [sum(r[k] for r in rows) for k in keys]

    return Knowledge(
        buckets=buckets,
        views=per_bucket(views, buckets),
        votes=[votes.get(b, Votes(0, 0)) for b in buckets],
        deflections=[deflections.get(b, Deflections(0, 0)) for b in buckets],
        views_total=Compare(*total(view_rows, "views_sum", "prev_views")),
        votes_total=(
            Votes(*total(vote_rows, "yes", "no")),
            Votes(*total(vote_rows, "prev_yes", "prev_no")),
        ),
        deflections_total=(
            Deflections(*total(deflection_rows, "opened", "filed")),
            Deflections(*total(deflection_rows, "prev_opened", "prev_filed")),
        ),
        top_articles=[
            {"article": r["article"], "title": r["article__title"], "views": r["views_sum"]}
            for r in top_articles
        ],
        failed_searches=failed_searches(start=scope.start, end=scope.end, limit=top),
    )

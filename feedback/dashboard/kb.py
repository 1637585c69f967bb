"""Knowledge-base figures: article views, helpful votes, deflection, failed searches."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db.models import Count, Q, Sum

from feedback.dashboard.base import PREVIOUS, Compare, Scope, per_bucket, percent_of
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


def _sums(by_slot: dict, *, previous: bool, fields: tuple[str, ...]) -> list[int]:
    """Each field summed over the period's buckets, or over the previous period."""
    counted = [v for at, v in by_slot.items() if (at == PREVIOUS) == previous]
    return [sum(getattr(v, f) for v in counted) for f in fields]


def knowledge(scope: Scope, *, top: int = 10) -> Knowledge:
    period, previous = scope.period, scope.period.previous
    this_period = Q(day__gte=period.start, day__lte=period.end)
    view_rows = list(
        ArticleViewDay.objects.filter(day__gte=previous.start, day__lte=period.end)
        .annotate(slot=scope.slot("day", is_date=True))
        .values("slot")
        .annotate(views_sum=Sum("views", default=0))
        .order_by()
    )
    top_articles = list(
        ArticleViewDay.objects.filter(this_period)
        .values("article", "article__title")
        .annotate(views_sum=Sum("views"))
        .order_by("-views_sum", "article__title")[:top]
    )
    vote_rows = list(
        ArticleVote.objects.filter(updated_at__gte=scope.previous_start, updated_at__lt=scope.end)
        .annotate(slot=scope.slot("updated_at"))
        .values("slot")
        .annotate(
            # Not named `helpful`: the filters below must read the column, not an annotation.
            yes=Count("pk", filter=Q(helpful=True)),
            no=Count("pk", filter=Q(helpful=False)),
        )
        .order_by()
    )
    filed = Q(ticket__isnull=False)
    deflection_rows = list(
        settled_deflections(scope.now)
        .filter(opened_at__gte=scope.previous_start, opened_at__lt=scope.end)
        .annotate(slot=scope.slot("opened_at"))
        .values("slot")
        .annotate(opened=Count("pk"), filed=Count("pk", filter=filed))
        .order_by()
    )
    buckets, slots = scope.buckets(), scope.slots()
    # Keyed by the previous period and by each bucket (the period ends the range).
    views = {slots[r["slot"]]: r["views_sum"] for r in view_rows}
    votes = {slots[r["slot"]]: Votes(r["yes"], r["no"]) for r in vote_rows}
    deflections = {slots[r["slot"]]: Deflections(r["opened"], r["filed"]) for r in deflection_rows}

    views_current = sum(v for at, v in views.items() if at != PREVIOUS)
    return Knowledge(
        buckets=buckets,
        views=per_bucket(views, buckets),
        votes=[votes.get(b, Votes(0, 0)) for b in buckets],
        deflections=[deflections.get(b, Deflections(0, 0)) for b in buckets],
        views_total=Compare(views_current, views.get(PREVIOUS, 0)),
        votes_total=(
            Votes(*_sums(votes, previous=False, fields=("helpful", "not_helpful"))),
            Votes(*_sums(votes, previous=True, fields=("helpful", "not_helpful"))),
        ),
        deflections_total=(
            Deflections(*_sums(deflections, previous=False, fields=("opened", "filed"))),
            Deflections(*_sums(deflections, previous=True, fields=("opened", "filed"))),
        ),
        top_articles=[
            {"article": r["article"], "title": r["article__title"], "views": r["views_sum"]}
            for r in top_articles
        ],
        failed_searches=failed_searches(start=scope.start, end=scope.end, limit=top),
    )

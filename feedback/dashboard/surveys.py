"""Figures over what customers answered: CSAT ratings and NPS scores."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db.models import Count, F, Q, QuerySet, Sum

from feedback.dashboard.base import Compare, Scope, percent_of
from feedback.models import SATISFIED_RATING, CsatSurvey, NpsSurvey
from feedback.selectors import NpsFigure, nps_counts, nps_figure

# -- CSAT ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Satisfaction:
    rated: int
    satisfied: int
    rating_sum: int

    @property
    def percent_satisfied(self) -> float | None:
        return percent_of(self.satisfied, self.rated)

    @property
    def average(self) -> float | None:
        return round(self.rating_sum / self.rated, 2) if self.rated else None


@dataclass(frozen=True)
class AgentSatisfaction:
    agent_id: int | None
    name: str
    current: Satisfaction
    previous: Satisfaction


@dataclass
class Csat:
    buckets: list[date]
    trend: list[Satisfaction]
    current: Satisfaction
    previous: Satisfaction
    by_agent: list[AgentSatisfaction]
    comments: list[CsatSurvey]

    @property
    def percent_satisfied(self) -> Compare:
        return Compare(self.current.percent_satisfied, self.previous.percent_satisfied)

    @property
    def average(self) -> Compare:
        return Compare(self.current.average, self.previous.average)


def _satisfaction_aggregates(scope: Scope) -> dict:
    aggregates = {}
    for prefix, window in (("", scope.in_period), ("prev_", scope.in_previous)):
        rated = window("rated_at")
        aggregates |= {
            f"{prefix}rated": Count("pk", filter=rated),
            f"{prefix}satisfied": Count("pk", filter=rated & Q(rating__gte=SATISFIED_RATING)),
            f"{prefix}rating_sum": Sum("rating", filter=rated, default=0),
        }
    return aggregates


def _satisfaction(row: dict, prefix: str = "") -> Satisfaction:
    return Satisfaction(
        row[f"{prefix}rated"], row[f"{prefix}satisfied"], row[f"{prefix}rating_sum"]
    )


def _rated(scope: Scope) -> QuerySet[CsatSurvey]:
    return CsatSurvey.objects.filter(scope.filters.csat()).filter(
        rating__isnull=False, rated_at__gte=scope.previous_start, rated_at__lt=scope.end
    )


def csat(scope: Scope, *, comments_shown: int = 10, no_agent: str = "—") -> Csat:
    buckets = scope.buckets()
    rows = list(
        _rated(scope)
        .annotate(bucket=scope.period_bucket("rated_at"))
        .values("bucket")
        .annotate(**_satisfaction_aggregates(scope))
        .order_by()
    )
    by_bucket = {row["bucket"]: _satisfaction(row) for row in rows if row["bucket"] is not None}
    agents = (
        _rated(scope)
        .values("agent", "agent__full_name", "agent__email")
        .annotate(**_satisfaction_aggregates(scope))
        .order_by("agent__full_name", "agent__email")
    )
    comments = (
        CsatSurvey.objects.filter(scope.filters.csat())
        .filter(scope.in_period("rated_at"), rating__isnull=False)
        .exclude(comment="")
        .select_related("ticket", "agent")
        .only(
            "ticket",
            "agent",
            "rating",
            "comment",
            "rated_at",
            "ticket__number",
            "ticket__subject",
            "agent__full_name",
            "agent__email",
        )
        .order_by("-rated_at", "-pk")[:comments_shown]
    )

    def total(prefix: str) -> Satisfaction:
        return Satisfaction(
            sum(r[f"{prefix}rated"] for r in rows),
            sum(r[f"{prefix}satisfied"] for r in rows),
            sum(r[f"{prefix}rating_sum"] for r in rows),
        )

    return Csat(
        buckets=buckets,
        trend=[by_bucket.get(b, Satisfaction(0, 0, 0)) for b in buckets],
        current=total(""),
        previous=total("prev_"),
        by_agent=[
            AgentSatisfaction(
                row["agent"],
                row["agent__full_name"] or row["agent__email"] or no_agent,
                _satisfaction(row),
                _satisfaction(row, "prev_"),
            )
            for row in agents
        ],
        comments=list(comments),
    )


# -- NPS ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlanNps:
    plan_id: int | None
    name: str
    current: NpsFigure
    previous: NpsFigure


@dataclass
class Nps:
    buckets: list[date]
    trend: list[NpsFigure]
    current: NpsFigure
    previous: NpsFigure
    by_plan: list[PlanNps]

    @property
    def score(self) -> Compare:
        return Compare(self.current.score, self.previous.score)


def _nps_aggregates(scope: Scope) -> dict:
    aggregates = {}
    for prefix, window in (("", scope.in_period), ("prev_", scope.in_previous)):
        aggregates |= nps_counts(window("responded_at"), prefix)
    return aggregates


def nps(scope: Scope, *, no_plan: str = "—") -> Nps:
    answers = NpsSurvey.objects.filter(scope.filters.nps()).filter(
        score__isnull=False, responded_at__gte=scope.previous_start, responded_at__lt=scope.end
    )
    rows = list(
        answers.annotate(bucket=scope.period_bucket("responded_at"))
        .values("bucket")
        .annotate(**_nps_aggregates(scope))
        .order_by()
    )
    plans = (
        answers.values("plan", "plan__name", "plan__rank")
        .annotate(**_nps_aggregates(scope))
        .order_by(F("plan__rank").asc(nulls_last=True))
    )
    buckets = scope.buckets()
    by_bucket = {row["bucket"]: nps_figure(row) for row in rows if row["bucket"] is not None}

    def total(prefix: str) -> NpsFigure:
        keys = ("promoters", "passives", "detractors")
        return NpsFigure(*(sum(r[f"{prefix}{k}"] for r in rows) for k in keys))

    return Nps(
        buckets=buckets,
        trend=[by_bucket.get(b, NpsFigure()) for b in buckets],
        current=total(""),
        previous=total("prev_"),
        by_plan=[
            PlanNps(
                row["plan"],
                row["plan__name"] or no_plan,
                nps_figure(row),
                nps_figure(row, "prev_"),
            )
            for row in plans
        ],
    )

"""Figures over what customers answered: CSAT ratings and NPS scores."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db.models import Count, F, Max, Q, QuerySet, Sum

from feedback.dashboard.base import PREVIOUS, Compare, Scope, percent_of
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
    # Counting rated_at (set on every rating), not the key: an index-only scan answers.
    aggregates = {}
    for prefix, window in (("", scope.in_period), ("prev_", scope.in_previous)):
        rated = window("rated_at")
        aggregates |= {
            f"{prefix}rated": Count("rated_at", filter=rated),
            f"{prefix}satisfied": Count("rated_at", filter=rated & Q(rating__gte=SATISFIED_RATING)),
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
    buckets, slots = scope.buckets(), scope.slots()
    rows = list(
        _rated(scope)
        .annotate(slot=scope.slot("rated_at"))
        .values("slot")
        .annotate(
            rated=Count("rated_at"),
            satisfied=Count("rated_at", filter=Q(rating__gte=SATISFIED_RATING)),
            rating_sum=Sum("rating", default=0),
        )
        .order_by()
    )
    # The previous period's row, and a row per bucket (the period ends the range).
    by_slot = {slots[row["slot"]]: _satisfaction(row) for row in rows}
    # Grouped by the agent alone (the name follows from it), then sorted by name: the
    # few groups are sorted, not every rating.
    agents = (
        _rated(scope)
        .values("agent")
        .annotate(
            agent_name=Max("agent__full_name"),
            agent_email=Max("agent__email"),
            **_satisfaction_aggregates(scope),
        )
        .order_by("agent_name", "agent_email")
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

    def total(*, previous: bool) -> Satisfaction:
        counted = [s for at, s in by_slot.items() if (at == PREVIOUS) == previous]
        return Satisfaction(
            sum(c.rated for c in counted),
            sum(c.satisfied for c in counted),
            sum(c.rating_sum for c in counted),
        )

    return Csat(
        buckets=buckets,
        trend=[by_slot.get(b, Satisfaction(0, 0, 0)) for b in buckets],
        current=total(previous=False),
        previous=total(previous=True),
        by_agent=[
            AgentSatisfaction(
                row["agent"],
                row["agent_name"] or row["agent_email"] or no_agent,
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
        answers.annotate(slot=scope.slot("responded_at"))
        .values("slot")
        .annotate(**nps_counts())
        .order_by()
    )
    plans = (
        answers.values("plan", "plan__name", "plan__rank")
        .annotate(**_nps_aggregates(scope))
        .order_by(F("plan__rank").asc(nulls_last=True))
    )
    buckets, slots = scope.buckets(), scope.slots()
    # The previous period's figure, and one per bucket (the period ends the range).
    by_slot = {slots[row["slot"]]: nps_figure(row) for row in rows}

    def total(*, previous: bool) -> NpsFigure:
        counted = [f for at, f in by_slot.items() if (at == PREVIOUS) == previous]
        keys = ("promoters", "passives", "detractors")
        return NpsFigure(*(sum(getattr(f, k) for f in counted) for k in keys))

    return Nps(
        buckets=buckets,
        trend=[by_slot.get(b, NpsFigure()) for b in buckets],
        current=total(previous=False),
        previous=total(previous=True),
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

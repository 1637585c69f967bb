"""Figures over what customers answered: CSAT ratings and NPS scores."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db.models import Count, F, Max, Q, QuerySet, Sum

from feedback.dashboard import from_rollups
from feedback.dashboard.base import CURRENT, PREVIOUS, Compare, Scope, percent_of
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


def _satisfaction(row: dict, prefix: str = "") -> Satisfaction:
    return Satisfaction(
        row[f"{prefix}rated"], row[f"{prefix}satisfied"], row[f"{prefix}rating_sum"]
    )


def _rated(scope: Scope) -> QuerySet[CsatSurvey]:
    return CsatSurvey.objects.filter(scope.filters.csat()).filter(
        rating__isnull=False, rated_at__gte=scope.previous_start, rated_at__lt=scope.end
    )


def _total(parts) -> Satisfaction:
    parts = list(parts)
    return Satisfaction(
        sum(p.rated for p in parts),
        sum(p.satisfied for p in parts),
        sum(p.rating_sum for p in parts),
    )


def _rated_rows(scope: Scope):
    return (
        _rated(scope)
        .annotate(slot=scope.slot("rated_at"))
        .values("slot", "agent")
        .annotate(
            agent_name=Max("agent__full_name"),
            agent_email=Max("agent__email"),
            rated=Count("rated_at"),
            satisfied=Count("rated_at", filter=Q(rating__gte=SATISFIED_RATING)),
            rating_sum=Sum("rating", default=0),
        )
        .order_by("agent_name", "agent_email", "agent")
    )


def csat(scope: Scope, *, comments_shown: int = 10, no_agent: str = "—") -> Csat:
    buckets, slots = scope.buckets(), scope.slots()
    # Per slot (the previous period, or a bucket: the period ends the range) and agent
    # who solved the ticket, sorted by the agent's name: the trend adds up each slot's
    # agents, the table each agent's slots.
    rows = from_rollups.csat_rows(scope) if from_rollups.answers(scope) else _rated_rows(scope)
    by_slot: dict[date | str, list[Satisfaction]] = {}
    agents: dict[int | None, dict] = {}  # in the order of their names
    for row in rows:
        at, part = slots[row["slot"]], _satisfaction(row)
        by_slot.setdefault(at, []).append(part)
        agent = agents.setdefault(row["agent"], {"row": row, PREVIOUS: [], CURRENT: []})
        agent[PREVIOUS if at == PREVIOUS else CURRENT].append(part)
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

    return Csat(
        buckets=buckets,
        trend=[_total(by_slot.get(b, [])) for b in buckets],
        current=_total(p for at, parts in by_slot.items() if at != PREVIOUS for p in parts),
        previous=_total(by_slot.get(PREVIOUS, [])),
        by_agent=[
            AgentSatisfaction(
                agent_id,
                agent["row"]["agent_name"] or agent["row"]["agent_email"] or no_agent,
                _total(agent[CURRENT]),
                _total(agent[PREVIOUS]),
            )
            for agent_id, agent in agents.items()
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


def _nps_total(figures) -> NpsFigure:
    figures = list(figures)
    keys = ("promoters", "passives", "detractors")
    return NpsFigure(*(sum(getattr(f, k) for f in figures) for k in keys))


def nps(scope: Scope, *, no_plan: str = "—") -> Nps:
    # Per slot (the previous period, or a bucket: the period ends the range) and plan
    # when asked, in the plans' order: the trend adds up each slot's plans, the table
    # each plan's slots.
    rows = (
        NpsSurvey.objects.filter(scope.filters.nps())
        .filter(
            score__isnull=False, responded_at__gte=scope.previous_start, responded_at__lt=scope.end
        )
        .annotate(slot=scope.slot("responded_at"))
        .values("slot", "plan", "plan__name", "plan__rank")
        .annotate(**nps_counts())
        .order_by(F("plan__rank").asc(nulls_last=True), "plan")
    )
    buckets, slots = scope.buckets(), scope.slots()
    by_slot: dict[date | str, list[NpsFigure]] = {}
    plans: dict[int | None, dict] = {}  # in the plans' order
    for row in rows:
        at, figure = slots[row["slot"]], nps_figure(row)
        by_slot.setdefault(at, []).append(figure)
        plan = plans.setdefault(row["plan"], {"row": row, PREVIOUS: [], CURRENT: []})
        plan[PREVIOUS if at == PREVIOUS else CURRENT].append(figure)
    return Nps(
        buckets=buckets,
        trend=[_nps_total(by_slot.get(b, [])) for b in buckets],
        current=_nps_total(f for at, figures in by_slot.items() if at != PREVIOUS for f in figures),
        previous=_nps_total(by_slot.get(PREVIOUS, [])),
        by_plan=[
            PlanNps(
                plan_id,
                plan["row"]["plan__name"] or no_plan,
                _nps_total(plan[CURRENT]),
                _nps_total(plan[PREVIOUS]),
            )
            for plan_id, plan in plans.items()
        ],
    )

"""Reading feedback: a ticket's ratings, and NPS and CSAT for organizations over a window."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Q

from feedback.models import (
    DETRACTOR_MAX,
    PROMOTER_MIN,
    SATISFIED_RATING,
    CsatSurvey,
    FeedbackSettings,
    NpsSurvey,
    SurveyStatus,
)


def feedback_form_open_to_visitors() -> bool:
    """Does the desk in scope take feedback from visitors who are not signed in? (Off
    until an admin says so: support, feedback included, is for signed-in people.)"""
    return bool(FeedbackSettings.objects.values_list("form_open_to_visitors", flat=True).first())


def ticket_satisfaction(ticket, limit: int = 3) -> list[CsatSurvey]:
    """The ticket's latest surveys, newest solve first (cancelled ones left out)."""
    return list(
        CsatSurvey.objects.filter(ticket=ticket)
        .exclude(status=SurveyStatus.CANCELLED)
        .order_by("-solved_at")[:limit]
    )


@dataclass(frozen=True)
class NpsFigure:
    promoters: int = 0
    passives: int = 0
    detractors: int = 0

    @property
    def responses(self) -> int:
        return self.promoters + self.passives + self.detractors

    @property
    def score(self) -> float | None:
        """% promoters − % detractors, from −100 to 100 (None without answers)."""
        if not self.responses:
            return None
        return round(100 * (self.promoters - self.detractors) / self.responses, 1)


def nps_counts(within: Q | None = None, prefix: str = "") -> dict:
    """The aggregates counting promoters, passives and detractors among the answers
    matching `within`, named with `prefix` (one NpsFigure's worth)."""
    within = within or Q()
    return {
        f"{prefix}promoters": Count("pk", filter=within & Q(score__gte=PROMOTER_MIN)),
        f"{prefix}passives": Count(
            "pk", filter=within & Q(score__gt=DETRACTOR_MAX, score__lt=PROMOTER_MIN)
        ),
        f"{prefix}detractors": Count("pk", filter=within & Q(score__lte=DETRACTOR_MAX)),
    }


def nps_figure(row: dict, prefix: str = "") -> NpsFigure:
    return NpsFigure(
        row[f"{prefix}promoters"], row[f"{prefix}passives"], row[f"{prefix}detractors"]
    )


def nps_by_organization(
    *, start: datetime, end: datetime, organization_ids=None
) -> dict[int, NpsFigure]:
    """NPS of each organization from the answers given in [start, end): one
    aggregate query (the history is the answers themselves, kept with their time)."""
    answers = NpsSurvey.objects.filter(
        score__isnull=False, responded_at__gte=start, responded_at__lt=end
    )
    if organization_ids is not None:
        answers = answers.filter(organization_id__in=organization_ids)
    return {
        row.pop("organization_id"): NpsFigure(**row)
        for row in answers.values("organization_id").annotate(**nps_counts()).order_by()
    }


def nps_overall(*, start: datetime, end: datetime) -> NpsFigure:
    answers = NpsSurvey.objects.filter(
        score__isnull=False, responded_at__gte=start, responded_at__lt=end
    )
    return NpsFigure(**answers.aggregate(**nps_counts()))


@dataclass(frozen=True)
class CsatFigure:
    satisfied: int = 0  # ratings of 4 or 5
    ratings: int = 0

    @property
    def percent(self) -> float | None:
        """% of ratings that were satisfied (None without ratings)."""
        if not self.ratings:
            return None
        return round(100 * self.satisfied / self.ratings, 1)


def csat_by_organization(
    *, start: datetime, end: datetime, organization_ids=None
) -> dict[int, CsatFigure]:
    """CSAT of each organization (its tickets' ratings given in [start, end)): one
    aggregate query."""
    ratings = CsatSurvey.objects.filter(
        rating__isnull=False,
        rated_at__gte=start,
        rated_at__lt=end,
        ticket__organization__isnull=False,
    )
    if organization_ids is not None:
        ratings = ratings.filter(ticket__organization_id__in=organization_ids)
    rows = (
        ratings.values("ticket__organization_id")
        .annotate(
            satisfied=Count("pk", filter=Q(rating__gte=SATISFIED_RATING)), ratings=Count("pk")
        )
        .order_by()
    )
    return {
        row["ticket__organization_id"]: CsatFigure(row["satisfied"], row["ratings"]) for row in rows
    }

"""The arithmetic of a health score: pure functions over figures already read.

1. Each component's raw figure becomes 0-100 (`linear_score`): the tenant sets the
   raw value that scores 0 and the one that scores 100; in between the score is
   linear, beyond them it stays at 0 or 100. Either threshold may be the larger,
   so "lower is better" components (ticket load, SLA breaches) just have their
   zero above their full mark. Payment status maps current / overdue / failed to
   100 / the tenant's overdue score / its failed score.
2. A component without data is left out (`None` score): no NPS answers, no CSAT
   ratings, no payment event yet, or a usage metric the tenant's product does not
   report. The score is the weighted mean of the others (`combine`), which is the
   same as rescaling their weights to add up to 100. With nothing left, there is
   no score.
3. The weights are those of the organization's lifecycle stage on that day
   (`lifecycle_stage`), and the band follows the tenant's thresholds (`band_for`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from success.models import Band, PaymentStatus, Stage

ONBOARDING_DAYS = 30
RENEWAL_DAYS = 90


@dataclass(frozen=True)
class Thresholds:
    zero_at: float  # the raw value that scores 0
    full_at: float  # the raw value that scores 100

    @classmethod
    def of(cls, zero_at: Decimal | float, full_at: Decimal | float) -> Thresholds:
        return cls(float(zero_at), float(full_at))


def linear_score(raw: float, thresholds: Thresholds) -> float:
    """0 at `zero_at`, 100 at `full_at`, linear in between and clamped beyond."""
    span = thresholds.full_at - thresholds.zero_at
    if span == 0:  # refused by HealthSettings.clean; a step rather than a crash here
        return 100.0 if raw == thresholds.full_at else 0.0
    fraction = (raw - thresholds.zero_at) / span
    return 100.0 * min(1.0, max(0.0, fraction))


def payment_score(status: str, *, overdue_score: int, failed_score: int) -> float:
    return {
        PaymentStatus.CURRENT: 100.0,
        PaymentStatus.OVERDUE: float(overdue_score),
        PaymentStatus.FAILED: float(failed_score),
    }[status]


@dataclass
class Part:
    """One component of one organization's score."""

    raw: float | str | None  # None: no data, left out
    score: float | None  # 0-100, None when left out
    weight: int  # the stage's weight for it (before rescaling)
    detail: dict = field(default_factory=dict)

    def as_json(self) -> dict:
        data = {
            "raw": self.raw,
            "score": None if self.score is None else round(self.score, 1),
            "weight": self.weight,
        }
        if self.detail:
            data["detail"] = self.detail
        return data


def combine(parts: dict[str, Part]) -> float | None:
    """The weighted mean of the components with data (their weights rescaled to 100)."""
    present = [part for part in parts.values() if part.score is not None and part.weight]
    total_weight = sum(part.weight for part in present)
    if not total_weight:
        return None
    return sum(part.score * part.weight for part in present) / total_weight


def round_score(value: float) -> int:
    """Half up, so 74.5 is healthy at 75 (Python's round() would make it 74)."""
    return min(100, max(0, math.floor(value + 0.5)))


def band_for(score: int, *, healthy_min: int, at_risk_min: int) -> str:
    if score >= healthy_min:
        return Band.HEALTHY
    if score >= at_risk_min:
        return Band.AT_RISK
    return Band.CRITICAL


def lifecycle_stage(day: date, *, start: date, renewal_date: date | None) -> str:
    """Onboarding in the first 30 days from `start` (day 0 to 29); else renewal from 90
    days before the renewal date up to the date itself; else steady.

    Onboarding wins when both apply (a contract shorter than four months): the first
    month is about getting the customer to use the product, whatever the term.
    """
    if start <= day < start + timedelta(days=ONBOARDING_DAYS):
        return Stage.ONBOARDING
    if renewal_date is not None and 0 <= (renewal_date - day).days <= RENEWAL_DAYS:
        return Stage.RENEWAL
    return Stage.STEADY


def change_reasons(newer: dict[str, dict], older: dict[str, dict]) -> list[tuple[str, float]]:
    """What moved the score between two days, biggest fall first: each component scored
    on both days, by how many points its own change is worth at the newer day's
    (rescaled) weights. A change of stage also moves the score, by changing the
    weights; callers say so beside these."""
    present = {
        name: part
        for name, part in newer.items()
        if part.get("score") is not None and part.get("weight")
    }
    total_weight = sum(part["weight"] for part in present.values())
    moved = []
    for name, part in present.items():
        before = older.get(name, {}).get("score")
        if before is None:
            continue
        points = round((part["score"] - before) * part["weight"] / total_weight, 1)
        if points:
            moved.append((name, points))
    return sorted(moved, key=lambda item: item[1])

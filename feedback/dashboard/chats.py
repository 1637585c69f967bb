"""Live-chat figures: chats per bucket, how long customers waited for an agent's first
reply (median and 90th percentile), and chats abandoned before any reply."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db.models import Count, DurationField, ExpressionWrapper, F, Q
from django.db.models.functions import Extract

from feedback.dashboard.base import PREVIOUS, Compare, Percentile, Scope, per_bucket, percent_of


@dataclass(frozen=True)
class Waits:
    chats: int
    abandoned: int
    median: float | None  # seconds to the first agent reply
    p90: float | None

    @property
    def percent_abandoned(self) -> float | None:
        return percent_of(self.abandoned, self.chats)


NONE = Waits(0, 0, None, None)


@dataclass
class Chats:
    buckets: list[date]
    by_bucket: list[Waits]
    current: Waits
    previous: Waits

    @property
    def total(self) -> Compare:
        return Compare(self.current.chats, self.previous.chats)

    @property
    def median_wait(self) -> Compare:
        return Compare(self.current.median, self.previous.median)

    @property
    def p90_wait(self) -> Compare:
        return Compare(self.current.p90, self.previous.p90)

    @property
    def percent_abandoned(self) -> Compare:
        return Compare(self.current.percent_abandoned, self.previous.percent_abandoned)


def chats(scope: Scope) -> Chats:
    from chat.models import Chat

    wait = Extract(
        ExpressionWrapper(F("first_reply_at") - F("queued_at"), output_field=DurationField()),
        "epoch",
    )
    measures = {
        "n": Count("pk"),
        "left": Count("pk", filter=Q(state=Chat.State.ENDED, first_reply_at__isnull=True)),
        "median": Percentile(wait, 0.5),
        "p90": Percentile(wait, 0.9),
    }
    rows = (
        Chat.objects.filter(queued_at__gte=scope.previous_start, queued_at__lt=scope.end)
        .filter(scope.filters.tickets("ticket__"))
        .annotate(slot=scope.slot("queued_at"))
    )
    by_slot = list(rows.values("slot").annotate(**measures).order_by())
    # The period as a whole: percentiles do not add up from buckets.
    whole = rows.filter(queued_at__gte=scope.start).aggregate(**measures)
    before = rows.filter(queued_at__lt=scope.start).aggregate(**measures)
    slots = scope.slots()
    waits = {
        slots[r["slot"]]: Waits(r["n"], r["left"], r["median"], r["p90"])
        for r in by_slot
        if slots.get(r["slot"]) != PREVIOUS
    }
    buckets = scope.buckets()
    return Chats(
        buckets=buckets,
        by_bucket=per_bucket(waits, buckets, NONE),
        current=Waits(whole["n"], whole["left"], whole["median"], whole["p90"]),
        previous=Waits(before["n"], before["left"], before["median"], before["p90"]),
    )

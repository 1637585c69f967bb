"""SLA reports: attainment per metric, grouped, and the breaches of a date range.

Every figure is an aggregate computed by PostgreSQL over `SLAOutcome` rows (one
per clock that ended: met in time or breached), never by loading tickets.
A clock counts in the range its due time falls in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from sla.models import Metric, SLABreach, SLAOutcome
from tickets.models import Category, Priority

GROUPINGS = {
    "plan": (gettext_lazy("Plan"), "ticket__organization__plan__name"),
    "priority": (gettext_lazy("Priority"), "ticket__priority"),
    "category": (gettext_lazy("Category"), "ticket__category"),
    "agent": (gettext_lazy("Agent"), "ticket__assignee__email"),
}


@dataclass
class Cell:
    met: int = 0
    breached: int = 0

    @property
    def total(self) -> int:
        return self.met + self.breached

    @property
    def percent(self) -> float | None:
        """Attainment: the share of ended clocks met in time (None when none ended)."""
        return round(100 * self.met / self.total, 1) if self.total else None


@dataclass
class Row:
    label: str
    cells: dict[str, Cell] = field(default_factory=lambda: {m: Cell() for m in Metric.values})


def day_range(start: date, end: date, tz) -> tuple[datetime, datetime]:
    """[start 00:00, end+1 00:00) in the desk's time zone."""
    return (
        timezone.make_aware(datetime.combine(start, time()), tz),
        timezone.make_aware(datetime.combine(end + timedelta(days=1), time()), tz),
    )


def _label(grouping: str, value, categories: dict[int, str]) -> str:
    if value is None:
        return {"plan": _("No plan"), "category": _("No category"), "agent": _("Unassigned")}.get(
            grouping, "—"
        )
    if grouping == "priority":
        return str(Priority(value).label)
    if grouping == "category":
        return categories[value]
    return str(value)


def attainment(start: datetime, end: datetime, grouping: str) -> tuple[Row, list[Row]]:
    """The overall row and one row per group, each with met/breached per metric."""
    key = GROUPINGS[grouping][1]
    outcomes = SLAOutcome.objects.filter(due_at__gte=start, due_at__lt=end)
    counts = outcomes.values(key, "metric").annotate(
        met=Count("pk", filter=Q(result=SLAOutcome.Result.MET)),
        breached=Count("pk", filter=Q(result=SLAOutcome.Result.BREACHED)),
    )
    # Categories are named in the reader's language (one query for them all).
    categories = (
        {category.pk: category.display_name for category in Category.objects.all()}
        if grouping == "category"
        else {}
    )
    overall = Row(_("All tickets"))
    groups: dict[object, Row] = {}
    for entry in counts.order_by(key, "metric"):
        value = entry[key]
        row = groups.setdefault(value, Row(_label(grouping, value, categories)))
        for target in (row, overall):
            cell = target.cells[entry["metric"]]
            cell.met += entry["met"]
            cell.breached += entry["breached"]
    if grouping == "category":  # by name, as the reader reads them; no category last
        groups = dict(sorted(groups.items(), key=lambda item: (item[0] is None, item[1].label)))
    return overall, list(groups.values())


def breaches(start: datetime, end: datetime, limit: int = 200, *, where: Q | None = None):
    """The breaches due in the range, latest first; `where` narrows them (the
    dashboards' filters, on `ticket__...`)."""
    return (
        SLABreach.objects.filter(due_at__gte=start, due_at__lt=end)
        .filter(where or Q())
        .select_related("ticket__assignee", "ticket__organization__plan")
        .order_by("-due_at")[:limit]
    )

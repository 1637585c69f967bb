"""The dashboards as people see them: headline figures with their change, and the
charts (helpdesk/charts.py) built from the figures of the package's other modules.

The page is made of panels (volume, speed, SLA, CSAT, NPS, knowledge base), each
computed by its own figure function, so a CSV download of one chart computes
only its panel, and the page computes its panels side by side
(helpdesk/side_by_side.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from functools import partial

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext

from feedback import dashboard as figures
from feedback.dashboard import WEEK, Compare, Scope
from helpdesk.charts import BAR, LINE, Chart, Series, round_half_up
from helpdesk.side_by_side import run_side_by_side
from sla.models import Metric
from tickets.models import Channel

COUNT, PERCENT, HOURS, SCORE, RATING = "count", "percent", "hours", "score", "rating"


@dataclass
class Headline:
    """A figure of the period beside the previous period's, with the change."""

    label: str
    compare: Compare
    unit: str = COUNT
    higher_is_better: bool | None = True

    def _format(self, value, *, signed: bool = False) -> str:
        if value is None:
            return "—"
        sign = "+" if signed and value > 0 else ""
        if self.unit == COUNT:
            return f"{sign}{value:,}"
        number = sign + round_half_up(value, 2 if self.unit == RATING else 1)
        if self.unit == PERCENT:
            return f"{number}%"
        if self.unit == HOURS:
            return _("%(value)s h") % {"value": number}
        return number

    @property
    def value(self) -> str:
        return self._format(self.compare.current)

    @property
    def previous(self) -> str:
        return self._format(self.compare.previous)

    @property
    def change(self) -> str:
        change = self.compare.change
        if change is None:
            return ""
        if change == 0:
            return _("no change")
        if self.unit == PERCENT:
            # Percentages change by points, not by percent of themselves.
            sign = "+" if change > 0 else ""
            return _("%(change)s pts") % {"change": sign + round_half_up(change)}
        text = self._format(change, signed=True)
        relative = self.compare.change_percent
        if self.unit == COUNT and relative is not None:
            text += f" ({'+' if relative > 0 else ''}{round_half_up(relative)}%)"
        return text

    @property
    def direction(self) -> str:
        """'up', 'down' or 'same' (words for the page, not only a colour)."""
        change = self.compare.change
        if change is None or change == 0:
            return "same"
        return "up" if change > 0 else "down"

    @property
    def tone(self) -> str:
        """'better', 'worse' or '' for styling; the text says the change anyway."""
        if self.higher_is_better is None or self.direction == "same":
            return ""
        return "better" if (self.direction == "up") == self.higher_is_better else "worse"


@dataclass
class Panel:
    id: str
    title: str
    headlines: list[Headline] = field(default_factory=list)
    charts: list[Chart] = field(default_factory=list)
    data: object = None  # the figures, for the panel's own tables

    def chart(self, chart_id: str) -> Chart | None:
        return next((c for c in self.charts if c.id == chart_id), None)


# -- labels -------------------------------------------------------------------------------


def _bucket_labels(scope: Scope, buckets: list[date]) -> tuple[str, list[str], list[str]]:
    """The categories' column heading, full labels (ISO dates) and axis labels."""
    heading = (
        _("Week of") if scope.bucket == WEEK else pgettext("chart axis: each bucket's date", "Day")
    )
    return heading, [b.isoformat() for b in buckets], [f"{b:%m-%d}" for b in buckets]


def _range_text(scope: Scope) -> str:
    return _("from %(start)s to %(end)s") % {
        "start": scope.period.start.isoformat(),
        "end": scope.period.end.isoformat(),
    }


def _per(scope: Scope) -> str:
    return _("per week") if scope.bucket == WEEK else _("per day")


def _time_chart(scope: Scope, buckets, **kwargs) -> Chart:
    heading, categories, axis = _bucket_labels(scope, buckets)
    return Chart(kind=LINE, x_label=heading, categories=categories, axis_labels=axis, **kwargs)


NONE_LABELS = {
    "plan": gettext_lazy("No plan"),
    "category": gettext_lazy("No category"),
    "priority": "—",
}
GROUPING_LABELS = {
    "category": gettext_lazy("Category"),
    "priority": gettext_lazy("Priority"),
    "plan": gettext_lazy("Plan"),
}


# -- panels -------------------------------------------------------------------------------


def volume_panel(scope: Scope) -> Panel:
    v = figures.volume(scope)
    created, solved = sum(v.created), sum(v.solved)
    channels = [str(Channel(c).label) for c in v.channel_totals]
    return Panel(
        id="volume",
        title=_("Volume"),
        data=v,
        headlines=[
            Headline(_("Tickets created"), v.created_total, higher_is_better=None),
            Headline(_("Tickets solved"), v.solved_total),
            Headline(_("Backlog at the end"), v.backlog_end, higher_is_better=False),
        ],
        charts=[
            _time_chart(
                scope,
                v.buckets,
                id="volume",
                title=_("Tickets created and solved"),
                description=_(
                    "Tickets created and solved %(per)s %(range)s: "
                    "%(created)d created, %(solved)d solved."
                )
                % {
                    "per": _per(scope),
                    "range": _range_text(scope),
                    "created": created,
                    "solved": solved,
                },
                unit=_("tickets"),
                # The number of tickets created (新建), not when they were (创建时间).
                series=[
                    Series(pgettext("tickets created, a count", "Created"), v.created),
                    Series(pgettext("tickets solved, a count", "Solved"), v.solved),
                ],
            ),
            _time_chart(
                scope,
                v.buckets,
                id="backlog",
                title=_("Backlog"),
                # Whole sentences per bucket: Chinese says "each day" and "each week"
                # with different words (每天, 每周), not one noun in one frame.
                description=(
                    _(
                        "Unsolved tickets at the end of each week %(range)s: "
                        "%(first)d at the end of the first, %(last)d at the end of the last."
                    )
                    if scope.bucket == WEEK
                    else _(
                        "Unsolved tickets at the end of each day %(range)s: "
                        "%(first)d at the end of the first, %(last)d at the end of the last."
                    )
                )
                % {
                    "range": _range_text(scope),
                    "first": v.backlog[0] if v.backlog else 0,
                    "last": v.backlog[-1] if v.backlog else 0,
                },
                unit=_("tickets"),
                series=[Series(_("Unsolved tickets"), v.backlog)],
            ),
            Chart(
                id="channels",
                kind=BAR,
                title=_("Tickets created by channel"),
                description=_("Tickets created per channel %(range)s, beside the previous period.")
                % {"range": _range_text(scope)},
                x_label=_("Channel"),
                categories=channels,
                unit=_("tickets"),
                series=[
                    Series(_("This period"), [c.current for c in v.channel_totals.values()]),
                    Series(_("Previous period"), [c.previous for c in v.channel_totals.values()]),
                ],
            ),
        ],
    )


def _speed_chart(scope: Scope, s: figures.Speed, chart_id: str, kind: str, title: str) -> Chart:
    rows, sections = [], []
    for grouping, group_rows in s.by.items():
        sections.append((str(GROUPING_LABELS[grouping]), len(group_rows)))
        rows += group_rows
    measured = [getattr(r, kind) for r in rows]
    return Chart(
        id=chart_id,
        kind=BAR,
        title=title,
        description=_(
            "Median and 90th percentile in business hours %(range)s, "
            "by category, priority and plan."
        )
        % {"range": _range_text(scope)},
        x_label=pgettext("a chart's rows: a category, priority or plan", "Group"),
        categories=[r.label for r in rows],
        sections=sections,
        section_label=_("Grouping"),
        unit=_("business hours"),
        series=[
            Series(_("Median"), [m.median for m in measured]),
            Series(_("90th percentile"), [m.p90 for m in measured]),
            Series(_("Tickets"), [m.count for m in measured], in_chart=False),
        ],
    )


def speed_panel(scope: Scope) -> Panel:
    s = figures.speed(scope, none_labels={k: str(v) for k, v in NONE_LABELS.items()})
    cur, prev = s.overall, s.previous
    return Panel(
        id="speed",
        title=_("Speed"),
        data=s,
        headlines=[
            Headline(
                label,
                Compare(getattr(getattr(cur, clock), stat), getattr(getattr(prev, clock), stat)),
                HOURS,
                higher_is_better=False,
            )
            for label, clock, stat in (
                (_("Median first response"), "first_response", "median"),
                (_("90th percentile first response"), "first_response", "p90"),
                (_("Median resolution"), "resolution", "median"),
                (_("90th percentile resolution"), "resolution", "p90"),
            )
        ],
        charts=[
            _speed_chart(scope, s, "first-response", "first_response", _("First response time")),
            _speed_chart(scope, s, "resolution", "resolution", _("Resolution time")),
        ],
    )


def sla_panel(scope: Scope) -> Panel:
    s = figures.sla(scope)
    metrics = list(Metric.choices)
    series = [Series(str(label), [c.percent for c in s.trend[m]]) for m, label in metrics]
    for m, label in metrics:
        series.append(
            Series(_("%(metric)s met") % {"metric": label}, [c.met for c in s.trend[m]], False)
        )
        series.append(
            Series(
                _("%(metric)s breached") % {"metric": label},
                [c.breached for c in s.trend[m]],
                False,
            )
        )
    return Panel(
        id="sla",
        title=_("Service levels"),
        data=s,
        headlines=[
            Headline(_("SLA attainment"), s.attainment, PERCENT),
            Headline(_("Breaches"), s.breached, higher_is_better=False),
        ],
        charts=[
            _time_chart(
                scope,
                s.buckets,
                id="sla",
                title=_("SLA attainment"),
                description=_(
                    "Share of SLA clocks met in time %(per)s by metric %(range)s "
                    "(clocks counted by due time): %(percent)s overall."
                )
                % {
                    "per": _per(scope),
                    "range": _range_text(scope),
                    "percent": Headline("", s.attainment, PERCENT).value,
                },
                unit="%",
                y_min=0,
                y_max=100,
                series=series,
            )
        ],
    )


def csat_panel(scope: Scope) -> Panel:
    c = figures.csat(scope, no_agent=_("No agent"))
    trend = [
        Series(_("Satisfied (%)"), [b.percent_satisfied for b in c.trend]),
        Series(_("Ratings"), [b.rated for b in c.trend], in_chart=False),
        Series(_("Satisfied"), [b.satisfied for b in c.trend], in_chart=False),
    ]
    return Panel(
        id="csat",
        title=_("Customer satisfaction (CSAT)"),
        data=c,
        headlines=[
            Headline(_("Satisfied"), c.percent_satisfied, PERCENT),
            Headline(_("Average rating (1-5)"), c.average, RATING),
            Headline(
                _("Ratings"), Compare(c.current.rated, c.previous.rated), higher_is_better=None
            ),
        ],
        charts=[
            _time_chart(
                scope,
                c.buckets,
                id="csat",
                title=_("Satisfied customers"),
                description=_(
                    "Share of ratings of 4 or 5 out of 5 %(per)s %(range)s: "
                    "%(percent)s of %(count)d ratings."
                )
                % {
                    "per": _per(scope),
                    "range": _range_text(scope),
                    "percent": Headline("", c.percent_satisfied, PERCENT).value,
                    "count": c.current.rated,
                },
                unit="%",
                y_min=0,
                y_max=100,
                series=trend,
            ),
            _time_chart(
                scope,
                c.buckets,
                id="csat-average",
                title=_("Average rating"),
                description=_("Average satisfaction rating (1 to 5) %(per)s %(range)s.")
                % {"per": _per(scope), "range": _range_text(scope)},
                unit=_("rating"),
                y_min=0,
                y_max=5,
                decimals=2,
                series=[
                    Series(_("Average rating"), [b.average for b in c.trend]),
                    Series(_("Ratings"), [b.rated for b in c.trend], in_chart=False),
                ],
            ),
            Chart(
                id="csat-agents",
                kind=BAR,
                title=_("Satisfaction by agent"),
                description=_(
                    "Share of satisfied ratings per agent who solved the ticket %(range)s, "
                    "beside the previous period."
                )
                % {"range": _range_text(scope)},
                x_label=_("Agent"),
                categories=[a.name for a in c.by_agent],
                unit="%",
                y_min=0,
                y_max=100,
                series=[
                    Series(_("This period"), [a.current.percent_satisfied for a in c.by_agent]),
                    Series(
                        _("Previous period"), [a.previous.percent_satisfied for a in c.by_agent]
                    ),
                    Series(_("Ratings"), [a.current.rated for a in c.by_agent], in_chart=False),
                    Series(
                        _("Average rating"), [a.current.average for a in c.by_agent], in_chart=False
                    ),
                    Series(
                        _("Ratings, previous period"),
                        [a.previous.rated for a in c.by_agent],
                        in_chart=False,
                    ),
                ],
            ),
        ],
    )


def nps_panel(scope: Scope) -> Panel:
    n = figures.nps(scope, no_plan=_("No plan"))

    def counts(rows, key=lambda r: r):
        return [
            Series(_("Responses"), [key(r).responses for r in rows], in_chart=False),
            Series(_("Promoters"), [key(r).promoters for r in rows], in_chart=False),
            Series(_("Passives"), [key(r).passives for r in rows], in_chart=False),
            Series(_("Detractors"), [key(r).detractors for r in rows], in_chart=False),
        ]

    return Panel(
        id="nps",
        title=_("Net Promoter Score (NPS)"),
        data=n,
        headlines=[
            Headline(_("NPS"), n.score, SCORE),
            Headline(
                _("NPS responses"),
                Compare(n.current.responses, n.previous.responses),
                higher_is_better=None,
            ),
        ],
        charts=[
            _time_chart(
                scope,
                n.buckets,
                id="nps",
                title=_("NPS over time"),
                description=_(
                    "Net Promoter Score (percent promoters minus percent detractors) "
                    "%(per)s %(range)s: %(score)s from %(count)d responses."
                )
                % {
                    "per": _per(scope),
                    "range": _range_text(scope),
                    "score": Headline("", n.score, SCORE).value,
                    "count": n.current.responses,
                },
                y_min=-100,
                y_max=100,
                series=[Series(_("NPS"), [b.score for b in n.trend]), *counts(n.trend)],
            ),
            Chart(
                id="nps-plans",
                kind=BAR,
                title=_("NPS by plan"),
                description=_(
                    "Net Promoter Score per plan (the plan when asked) %(range)s, "
                    "beside the previous period."
                )
                % {"range": _range_text(scope)},
                x_label=_("Plan"),
                categories=[p.name for p in n.by_plan],
                y_min=-100,
                y_max=100,
                series=[
                    Series(_("This period"), [p.current.score for p in n.by_plan]),
                    Series(_("Previous period"), [p.previous.score for p in n.by_plan]),
                    *counts(n.by_plan, key=lambda p: p.current),
                ],
            ),
        ],
    )


def knowledge_panel(scope: Scope) -> Panel:
    k = figures.knowledge(scope)
    return Panel(
        id="knowledge",
        title=_("Knowledge base"),
        data=k,
        headlines=[
            Headline(_("Article views"), k.views_total, higher_is_better=None),
            Headline(_("Found helpful"), k.percent_helpful, PERCENT),
            Headline(_("Deflection rate"), k.deflection_rate, PERCENT),
        ],
        charts=[
            _time_chart(
                scope,
                k.buckets,
                id="kb-views",
                title=_("Article views"),
                description=_("Knowledge-base article views %(per)s %(range)s: %(views)d in all.")
                % {"per": _per(scope), "range": _range_text(scope), "views": sum(k.views)},
                unit=_("views"),
                series=[Series(pgettext("article page views, a count", "Views"), k.views)],
            ),
            _time_chart(
                scope,
                k.buckets,
                id="kb-rates",
                title=_("Helpful votes and deflection"),
                description=_(
                    "Share of 'was this helpful?' votes that said yes, and share of suggested "
                    "articles that spared a request, %(per)s %(range)s."
                )
                % {"per": _per(scope), "range": _range_text(scope)},
                unit="%",
                y_min=0,
                y_max=100,
                series=[
                    Series(_("Found helpful"), [v.percent_helpful for v in k.votes]),
                    Series(_("Deflection rate"), [d.rate for d in k.deflections]),
                    Series(_("Helpful"), [v.helpful for v in k.votes], in_chart=False),
                    Series(_("Not helpful"), [v.not_helpful for v in k.votes], in_chart=False),
                    Series(
                        _("Suggestions opened"), [d.opened for d in k.deflections], in_chart=False
                    ),
                    Series(_("Filed anyway"), [d.filed for d in k.deflections], in_chart=False),
                ],
            ),
        ],
    )


def chat_panel(scope: Scope) -> Panel:
    c = figures.chats(scope)
    seconds = _("seconds")
    return Panel(
        id="chat",
        title=_("Live chat"),
        data=c,
        headlines=[
            Headline(_("Chats"), c.total, higher_is_better=None),
            Headline(_("Median wait (s)"), c.median_wait, SCORE, higher_is_better=False),
            Headline(_("90th percentile wait (s)"), c.p90_wait, SCORE, higher_is_better=False),
            Headline(_("Abandoned"), c.percent_abandoned, PERCENT, higher_is_better=False),
        ],
        charts=[
            _time_chart(
                scope,
                c.buckets,
                id="chats",
                title=_("Chats"),
                description=_(
                    "Chats started %(per)s %(range)s: %(chats)d in all, %(left)d left before "
                    "an agent replied."
                )
                % {
                    "per": _per(scope),
                    "range": _range_text(scope),
                    "chats": c.current.chats,
                    "left": c.current.abandoned,
                },
                unit=_("chats"),
                series=[
                    Series(_("Chats"), [w.chats for w in c.by_bucket]),
                    Series(_("Abandoned"), [w.abandoned for w in c.by_bucket]),
                ],
            ),
            _time_chart(
                scope,
                c.buckets,
                id="chat-waits",
                title=_("Wait for an agent's first reply"),
                description=_(
                    "Seconds from a chat reaching the queue to an agent's first reply, median "
                    "and 90th percentile, %(per)s %(range)s."
                )
                % {"per": _per(scope), "range": _range_text(scope)},
                unit=seconds,
                y_min=0,
                series=[
                    Series(_("Median"), [w.median for w in c.by_bucket]),
                    Series(_("90th percentile"), [w.p90 for w in c.by_bucket]),
                ],
            ),
        ],
    )


PANELS: dict[str, Callable[[Scope], Panel]] = {
    "volume": volume_panel,
    "speed": speed_panel,
    "sla": sla_panel,
    "csat": csat_panel,
    "nps": nps_panel,
    "knowledge": knowledge_panel,
    "chat": chat_panel,
}

# Which panel draws each chart: a CSV download computes that panel alone.
CHART_PANELS = {
    "volume": "volume",
    "backlog": "volume",
    "channels": "volume",
    "first-response": "speed",
    "resolution": "speed",
    "sla": "sla",
    "csat": "csat",
    "csat-average": "csat",
    "csat-agents": "csat",
    "nps": "nps",
    "nps-plans": "nps",
    "kb-views": "knowledge",
    "kb-rates": "knowledge",
    "chats": "chat",
    "chat-waits": "chat",
}


def panels(scope: Scope) -> dict[str, Panel]:
    """Every panel, computed side by side: each waits mostly on its own queries."""
    return run_side_by_side({name: partial(build, scope) for name, build in PANELS.items()})


def chart(scope: Scope, chart_id: str) -> Chart | None:
    panel = CHART_PANELS.get(chart_id)
    return PANELS[panel](scope).chart(chart_id) if panel else None

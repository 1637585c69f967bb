"""The customer-success reports as people see them: for each report a few headline
figures and one chart (helpdesk/charts.py) whose numbers are also its table and CSV.

Each report is built by its own function from its own figures (success/reports.py),
so a CSV download computes that report alone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.utils.translation import gettext as _

from helpdesk.charts import BAR, STACKED, Chart, Series
from success import reports
from success.models import Band
from success.reports import ReportRange

MONEY = 2  # decimals of amounts in tables and CSV


@dataclass(frozen=True)
class Figure:
    """A headline: a label and its value, already written out."""

    label: str
    value: str


@dataclass
class Report:
    id: str  # also its chart's id and `?csv=<id>`
    title: str
    chart: Chart
    first: date  # the days the report covers, for the CSV's file name
    last: date
    figures: list[Figure] = field(default_factory=list)
    data: object = None


# -- writing numbers ----------------------------------------------------------------------


def money(amount: Decimal) -> str:
    """12,000 or 12,000.50: cents only when there are some."""
    if amount == amount.to_integral_value():
        return f"{amount:,.0f}"
    return f"{amount:,.2f}"


def rate(value: Decimal | None) -> str:
    return "—" if value is None else f"{value}%"


def _floats(values) -> list[float | None]:
    """Chart values are floats (the SVG's arithmetic); a table cell is written from a
    float's shortest repr, so an amount of 14 digits comes out as it was stored."""
    return [None if v is None else float(v) for v in values]


def quarter_label(quarter: date) -> str:
    return _("%(year)d Q%(quarter)d") % {"year": quarter.year, "quarter": (quarter.month + 2) // 3}


def band_label(band: str | None) -> str:
    return str(Band(band).label) if band else _("Not scored yet")


# -- reports ------------------------------------------------------------------------------


def renewals_report(report_range: ReportRange) -> Report:
    data = reports.renewals(report_range)
    quarters, total = data.quarters, data.total
    first = report_range.first_quarter
    last = reports.add_quarters(report_range.last_quarter, 1) - timedelta(days=1)
    span = _("from %(first)s to %(last)s") % {
        "first": quarter_label(report_range.first_quarter),
        "last": quarter_label(report_range.last_quarter),
    }
    return Report(
        id="renewals",
        title=_("Renewal rate by quarter"),
        first=first,
        last=last,
        data=data,
        figures=[
            Figure(_("Gross renewal rate"), rate(total.gross_rate)),
            Figure(_("Net of downgrades"), rate(total.net_rate)),
            Figure(_("Logo renewal rate"), rate(total.logo_rate)),
            Figure(_("Expansion"), money(total.expansion)),
            Figure(_("Awaiting outcome"), f"{total.awaiting:,}"),
        ],
        chart=Chart(
            id="renewals",
            kind=BAR,
            title=_("Renewal rate by quarter"),
            description=_(
                "Gross renewal rate, renewal rate net of downgrades and logo renewal rate "
                "per quarter of the renewal date %(span)s: %(renewed)d of %(recorded)d "
                "recorded renewals renewed, %(awaiting)d awaiting an outcome."
            )
            % {
                "span": span,
                "renewed": total.renewed,
                "recorded": total.recorded,
                "awaiting": total.awaiting,
            },
            x_label=_("Quarter"),
            categories=[quarter_label(q.quarter) for q in quarters],
            unit="%",
            y_min=0,
            y_max=100,
            series=[
                Series(_("Renewals due"), [q.due for q in quarters], in_chart=False),
                Series(_("ARR due"), _floats(q.arr_due for q in quarters), False, MONEY),
                Series(_("Renewed"), [q.renewed for q in quarters], in_chart=False),
                Series(_("Churned"), [q.churned for q in quarters], in_chart=False),
                Series(_("Awaiting outcome"), [q.awaiting for q in quarters], in_chart=False),
                Series(_("Gross renewal rate"), _floats(q.gross_rate for q in quarters)),
                Series(_("Net of downgrades"), _floats(q.net_rate for q in quarters)),
                Series(_("Logo renewal rate"), _floats(q.logo_rate for q in quarters)),
                Series(_("ARR renewed"), _floats(q.arr_renewed for q in quarters), False, MONEY),
                Series(_("ARR churned"), _floats(q.arr_churned for q in quarters), False, MONEY),
                Series(_("Downgrades"), _floats(q.contraction for q in quarters), False, MONEY),
                Series(_("Expansion"), _floats(q.expansion for q in quarters), False, MONEY),
            ],
        ),
    )


def arr_at_risk_report(report_range: ReportRange) -> Report:
    data = reports.arr_by_band(report_range)
    bands = data.bands
    return Report(
        id="arr-at-risk",
        title=_("ARR at risk by health band"),
        first=report_range.today,
        last=report_range.today,
        data=data,
        figures=[
            Figure(_("ARR at risk"), money(data.arr_at_risk)),
            Figure(_("Of it renewing within 90 days"), money(data.arr_at_risk_renewing)),
            Figure(_("Organizations at risk"), f"{data.organizations_at_risk:,}"),
            Figure(_("ARR in all"), money(data.arr_total)),
        ],
        chart=Chart(
            id="arr-at-risk",
            kind=BAR,
            title=_("ARR at risk by health band"),
            description=_(
                "Annual recurring revenue of the organizations in each band of their latest "
                "health score, today, and the part renewing by %(until)s: %(at_risk)s at "
                "risk or critical."
            )
            % {"until": data.renewing_until.isoformat(), "at_risk": money(data.arr_at_risk)},
            x_label=_("Band"),
            categories=[band_label(b.band) for b in bands],
            unit=_("ARR"),
            decimals=MONEY,
            series=[
                Series(_("Organizations"), [b.organizations for b in bands], in_chart=False),
                Series(_("ARR"), _floats(b.arr for b in bands)),
                Series(_("ARR renewing within 90 days"), _floats(b.arr_renewing for b in bands)),
            ],
        ),
    )


def health_report(report_range: ReportRange) -> Report:
    weeks = reports.health_by_week(report_range)
    latest = next((w for w in reversed(weeks) if w.scored), None)
    return Report(
        id="health",
        title=_("Health distribution over time"),
        first=report_range.start,
        last=report_range.end,
        data=weeks,
        figures=[
            Figure(band_label(band), "—" if latest is None else f"{getattr(latest, band):,}")
            for band in (Band.HEALTHY, Band.AT_RISK, Band.CRITICAL)
        ],
        chart=Chart(
            id="health",
            kind=STACKED,
            title=_("Health distribution over time"),
            description=_(
                "Organizations in each health band per week from %(start)s to %(end)s, "
                "each counted in the band of its last score of the week."
            )
            % {"start": report_range.start.isoformat(), "end": report_range.end.isoformat()},
            x_label=_("Week of"),
            categories=[w.week.isoformat() for w in weeks],
            axis_labels=[f"{w.week:%m-%d}" for w in weeks],
            unit=_("organizations"),
            series=[
                Series(band_label(Band.HEALTHY), [w.healthy for w in weeks]),
                Series(band_label(Band.AT_RISK), [w.at_risk for w in weeks]),
                Series(band_label(Band.CRITICAL), [w.critical for w in weeks]),
                Series(_("Scored"), [w.scored for w in weeks], in_chart=False),
            ],
        ),
    )


def tasks_report(report_range: ReportRange) -> Report:
    data = reports.tasks_by_owner(report_range, pool_name=_("Shared pool"))
    owners, total = data.owners, data.total
    return Report(
        id="tasks",
        title=_("Tasks completed on time per CSM"),
        first=report_range.start,
        last=report_range.end,
        data=data,
        figures=[
            Figure(_("On-time rate"), rate(total.on_time_rate)),
            Figure(_("Done late"), f"{total.late:,}"),
            Figure(_("Open and overdue"), f"{total.overdue:,}"),
        ],
        chart=Chart(
            id="tasks",
            kind=BAR,
            title=_("Tasks completed on time per CSM"),
            description=_(
                "Success tasks due from %(start)s to %(end)s per owner, done on time, done "
                "late or still open after their due date: %(on_time)d of %(counted)d on time."
            )
            % {
                "start": report_range.start.isoformat(),
                "end": report_range.end.isoformat(),
                "on_time": total.on_time,
                "counted": total.done + total.overdue,
            },
            x_label=_("Owner"),
            categories=[o.name for o in owners],
            unit=_("tasks"),
            series=[
                Series(_("Due"), [o.due for o in owners], in_chart=False),
                Series(_("On time"), [o.on_time for o in owners]),
                Series(_("Late"), [o.late for o in owners]),
                Series(_("Open and overdue"), [o.overdue for o in owners]),
                Series(_("Open, not due yet"), [o.open for o in owners], in_chart=False),
                Series(_("On-time rate (%)"), _floats(o.on_time_rate for o in owners), False),
            ],
        ),
    )


REPORTS: dict[str, Callable[[ReportRange], Report]] = {
    "renewals": renewals_report,
    "arr-at-risk": arr_at_risk_report,
    "health": health_report,
    "tasks": tasks_report,
}


def all_reports(report_range: ReportRange) -> list[Report]:
    return [build(report_range) for build in REPORTS.values()]


def report(report_range: ReportRange, report_id: str) -> Report | None:
    build = REPORTS.get(report_id)
    return build(report_range) if build else None

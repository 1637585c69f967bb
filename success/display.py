"""How health reads to people: components in words, the reason for a health drop,
and the small trend line of the workspace. Presentation only (no queries); the admin
and the CSM pages share it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from django.utils import formats
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext

from helpdesk.charts import LINE, Chart, Series
from success.models import CHECK_IN_QUESTIONS, Band, Component, PaymentStatus

# How a raw value reads, per component.
UNITS = {
    Component.USAGE_FREQUENCY: gettext_lazy("days with a login"),
    Component.FEATURE_DEPTH: gettext_lazy("features"),
    Component.DATA_GROWTH: gettext_lazy("Records created, change (%)"),
    Component.TICKET_LOAD: gettext_lazy("tickets per seat"),
    Component.SLA_BREACHES: gettext_lazy("SLA clocks breached (%)"),
    Component.NPS: gettext_lazy("NPS"),
    Component.CSAT: gettext_lazy("Satisfied (%)"),
}
DETAIL_LABELS = {
    "opened": gettext_lazy("opened in 30 days"),
    "open": gettext_lazy("open"),
    "seats": gettext_lazy("seats"),
    "clocks": gettext_lazy("SLA clocks"),
    "breached": gettext_lazy("breached"),
    "responses": gettext_lazy("answers"),
    "ratings": gettext_lazy("ratings"),
    "satisfied": gettext_lazy("satisfied"),
    "recent": gettext_lazy("records in the last 30 days"),
    "before": gettext_lazy("in the 30 before"),
}


def component_rows(components: dict) -> list[dict]:
    """Stored components in the order of Component (jsonb keeps its own key order), with
    their raw values and the figures behind them in words."""
    rows = []
    for name in Component.values:
        if name not in components:
            continue
        part = components[name]
        raw = part.get("raw")
        if name == Component.PAYMENT and raw in PaymentStatus.values:
            raw, unit = PaymentStatus(raw).label, ""
        else:
            unit = UNITS.get(name, "")
        rows.append(
            {
                "label": Component(name).label,
                "raw": raw,
                "unit": unit,
                "score": part.get("score"),
                "weight": part.get("weight"),
                "detail": [
                    (DETAIL_LABELS.get(key, key), value)
                    for key, value in part.get("detail", {}).items()
                ],
            }
        )
    return rows


def component_label(name: str) -> str:
    return str(Component(name).label) if name in Component.values else name


def signed_points(points: float) -> str:
    """−9.5 / +2.0, with a real minus sign, in the current language's number format."""
    sign = "−" if points < 0 else "+"
    return f"{sign}{formats.number_format(abs(points), 1)}"


def points_words(points: float) -> str:
    return _("%(points)s points") % {"points": signed_points(points)}


def short_day(day: date) -> str:
    return formats.date_format(day, "MONTH_DAY_FORMAT")


def drop_reason_words(reason: dict) -> str:
    """A health-drop task's reason (success/touchpoints.py `drop_reason`) as a sentence:
    "Score 52 (Critical), down 18 points from 70 on November 3; biggest falls: Usage
    frequency −9.5 points, Feature depth −4.0 points." Empty for a task without one."""
    if not reason or reason.get("score") is None:
        return ""
    band = reason.get("band")
    text = _("Score %(score)s (%(band)s)") % {
        "score": reason["score"],
        "band": Band(band).label if band in Band.values else band,
    }
    if reason.get("from_score") is not None and reason.get("fell_points"):
        text += _(", down %(points)s points from %(before)s on %(day)s") % {
            "points": reason["fell_points"],
            "before": reason["from_score"],
            "day": short_day(date.fromisoformat(reason["from_day"])),
        }
    if reason.get("entered_critical"):
        text += _(", now in the critical band")
    falls = reason.get("reasons") or []
    if falls:
        text += _("; biggest falls: %(falls)s") % {
            "falls": ", ".join(
                f"{component_label(name)} {points_words(points)}" for name, points in falls
            )
        }
    return text + "."


def check_in_answers(task) -> list[tuple[str, str]]:
    """The 90-day check-in's questions with the answers stored (those answered)."""
    answers = task.answers or {}
    return [(question, answers[key]) for key, question in CHECK_IN_QUESTIONS if answers.get(key)]


# -- the trend line ------------------------------------------------------------------------

SPARK_WIDTH, SPARK_HEIGHT, SPARK_PAD = 120, 28, 3
SPARK_MIN_SPAN = 20  # score points


@dataclass(frozen=True)
class Sparkline:
    """An organization's scores over a few weeks, oldest first: [(day, score)]."""

    points: list[tuple[date, int]]

    def words(self) -> str:
        """The numbers behind the line, for screen readers (and as its tooltip)."""
        if not self.points:
            return _("No scores in the last 30 days.")
        scores = [score for _day, score in self.points]
        return _(
            "Last 30 days: %(first)s on %(first_day)s, %(last)s on %(last_day)s; "
            "lowest %(low)s, highest %(high)s (%(count)s scores)."
        ) % {
            "first": scores[0],
            "first_day": short_day(self.points[0][0]),
            "last": scores[-1],
            "last_day": short_day(self.points[-1][0]),
            "low": min(scores),
            "high": max(scores),
            "count": len(scores),
        }

    def svg(self) -> SafeString:
        """A small line with the last point marked, labelled by `words()`. Scaled to its
        own range (at least SPARK_MIN_SPAN points tall), so a fall of 15 points shows
        in 28 pixels while a wobble of 2 stays flat."""
        label = escape(self.words())
        if not self.points:
            return mark_safe(f'<span class="sparkline-empty">{label}</span>')  # noqa: S308
        first = self.points[0][0]
        span = max((self.points[-1][0] - first).days, 1)
        inner_w, inner_h = SPARK_WIDTH - 2 * SPARK_PAD, SPARK_HEIGHT - 2 * SPARK_PAD

        scores = [score for _day, score in self.points]
        middle = (max(scores) + min(scores)) / 2
        half = max(max(scores) - min(scores), SPARK_MIN_SPAN) / 2
        low, high = middle - half, middle + half

        def xy(day: date, score: int) -> tuple[float, float]:
            return (
                SPARK_PAD + inner_w * (day - first).days / span,
                SPARK_PAD + inner_h * (high - score) / (high - low),
            )

        coords = [xy(day, score) for day, score in self.points]
        line = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
        last_x, last_y = coords[-1]
        return mark_safe(  # noqa: S308 - the only text went through escape()
            f'<svg class="sparkline" role="img" aria-label="{label}" '
            f'viewBox="0 0 {SPARK_WIDTH} {SPARK_HEIGHT}" width="{SPARK_WIDTH}" '
            f'height="{SPARK_HEIGHT}" xmlns="http://www.w3.org/2000/svg">'
            f"<title>{label}</title>"
            f'<polyline points="{line}" fill="none" stroke="currentColor" stroke-width="1.5" '
            f'stroke-linejoin="round"/>'
            f'<circle cx="{last_x:.1f}" cy="{last_y:.1f}" r="2.5" fill="currentColor"/></svg>'
        )


def history_chart(history, *, first: date, last: date):
    """The score over `first`..`last` (helpdesk/charts.py), a gap where a day has no score."""
    by_day = {score.day: score for score in history}
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    scored = [by_day[day].score for day in days if day in by_day]
    if scored:
        description = _(
            "From %(first)s to %(last)s: %(count)s daily scores, lowest %(low)s, highest "
            "%(high)s, latest %(latest)s."
        ) % {
            "first": short_day(first),
            "last": short_day(last),
            "count": len(scored),
            "low": min(scored),
            "high": max(scored),
            "latest": scored[-1],
        }
    else:
        description = _("No scores in this range.")
    return Chart(
        id="health",
        kind=LINE,
        title=_("Health score, last %(days)s days") % {"days": len(days)},
        description=description,
        x_label=pgettext("chart axis: each bucket's date", "Day"),
        categories=[day.isoformat() for day in days],
        axis_labels=[short_day(day) for day in days],
        series=[
            Series(_("Score"), [by_day[d].score if d in by_day else None for d in days]),
        ],
        unit=_("score"),
        y_min=0,
        y_max=100,
        decimals=0,
    )

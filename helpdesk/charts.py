"""Charts drawn by the server as SVG: a line chart (several series over time), a
horizontal grouped bar chart and a vertical stacked column chart (parts of a whole
over time), each with its numbers as a table and as CSV.

No JavaScript and no chart library: a page gets an `<svg role="img">` labelled by
its `<title>` and `<desc>`, and the same numbers in a table and a CSV file.
Series differ by colour (a colour-blind-safe palette, dark enough for 3:1 on
white) and also by something that is not colour: lines by dash pattern and
marker shape, bars by fill pattern. Labels are measured for wide (CJK)
characters, so Chinese category names fit like English ones.

    chart = Chart(id="volume", kind=LINE, title=..., description=...,
                  x_label=_("Day"), categories=["3 Nov", "4 Nov"],
                  series=[Series(_("Created"), [4, 6]), Series(_("Solved"), [3, 5])])
    chart.svg()           # the markup (safe)
    chart.table()         # header and rows, formatted as in the CSV
    chart.table_html()    # the same as an HTML table (safe)
    chart.figure_html(q)  # all of it as the page shows it, with a CSV link (`?q&csv=<id>`)
    chart.csv_response()  # text/csv download of the same rows
"""

from __future__ import annotations

import csv
import html
import math
import unicodedata
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.http import HttpResponse
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

LINE = "line"
BAR = "bar"
STACKED = "stacked"  # vertical columns, one segment per series, stacked

# Okabe-Ito hues, darkened where needed for 3:1 contrast against white.
PALETTE = ["#0072B2", "#C4540A", "#007A5A", "#A8488A", "#7A5A00", "#333333"]
DASHES = ["", "7 4", "2 3", "10 3 2 3", "4 2 1 2", "1 4"]
MARKERS = ["circle", "square", "triangle", "diamond", "cross", "circle"]
FILLS = ["solid", "hatch", "dots", "cross", "rhatch", "solid"]

WIDTH = 720
FONT = 12  # px, axis labels and legend
INK = "#1d2433"
MUTED = "#5b6577"
GRID = "#e3e7ee"
MARKERS_UP_TO = 40  # points per series; beyond, markers would hide the line


@dataclass
class Series:
    label: str
    values: list[float | int | None]
    # False: a column of the table and the CSV only (a count behind a percentage, say).
    in_chart: bool = True
    # Decimals of this series' numbers, when not the chart's (amounts of money: 2).
    decimals: int | None = None


@dataclass
class Chart:
    id: str  # unique on the page: element ids and `?csv=<id>`
    kind: str  # LINE, BAR or STACKED
    title: str
    description: str
    x_label: str  # heading of the categories' column
    categories: list[str]
    series: list[Series]
    unit: str = ""  # the value axis' title: "tickets", "hours", "%"
    y_min: float | None = None  # a fixed range (percentages, NPS)
    y_max: float | None = None
    # Bar charts: headings over consecutive categories, (heading, how many), and the
    # heading of their column in the table.
    sections: list[tuple[str, int]] = field(default_factory=list)
    section_label: str = ""
    decimals: int = 1
    # Shorter labels under the x axis of a line chart ("11-03" for 2026-11-03).
    axis_labels: list[str] | None = None

    @property
    def charted(self) -> list[Series]:
        return [s for s in self.series if s.in_chart]

    @property
    def is_empty(self) -> bool:
        return not self.categories or all(v is None for s in self.charted for v in s.values)

    @property
    def label_columns(self) -> int:
        return 2 if self.sections else 1

    # -- numbers ------------------------------------------------------------------------

    def format(self, value, decimals: int | None = None) -> str:
        if value is None:
            return ""
        if isinstance(value, int):
            return str(value)
        return round_half_up(value, self.decimals if decimals is None else decimals)

    def format_in(self, series: Series, value) -> str:
        return self.format(value, series.decimals)

    def _section_of_rows(self) -> list[str]:
        names: list[str] = []
        for heading, count in self.sections:
            names += [heading] * count
        return names

    def table(self) -> dict[str, list]:
        """{'header': [...], 'rows': [[...], ...]}: the cells as the CSV has them."""
        header = [self.x_label] + [s.label for s in self.series]
        labels = [[c] for c in self.categories]
        if self.sections:
            header.insert(0, self.section_label)
            labels = [[s, c] for s, c in zip(self._section_of_rows(), self.categories, strict=True)]
        rows = [
            [*label, *(self.format_in(s, s.values[i]) for s in self.series)]
            for i, label in enumerate(labels)
        ]
        return {"header": [str(h) for h in header], "rows": rows}

    def table_html(self) -> SafeString:
        """The table as HTML (built here: a template loop over every cell of a long
        range cost more than the queries)."""
        table = self.table()
        head = "".join(f'<th scope="col">{escape(h)}</th>' for h in table["header"])
        labels = self.label_columns
        body = "".join(
            "<tr>"
            + "".join(f'<th scope="row">{escape(c)}</th>' for c in row[:labels])
            + "".join(f"<td>{escape(c)}</td>" for c in row[labels:])
            + "</tr>"
            for row in table["rows"]
        )
        return mark_safe(  # noqa: S308 - every cell went through escape()
            f'<table class="table"><caption class="visually-hidden">{escape(self.title)}'
            f"</caption><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
        )

    def figure_html(self, csv_query: str) -> SafeString:
        """The chart as a page shows it: its title, the drawing (or a line saying there is
        nothing to draw), its numbers as a table, and a link to them as CSV, the page's
        query (`csv_query`) plus `csv=<id>`. Built here rather than by an include per
        chart, which cost more than drawing."""
        ident, title = escape(self.id), escape(self.title)
        # Translated outside the f-strings: xgettext does not look inside them.
        nothing = escape(_("No data in this range."))
        as_table = escape(_("Numbers as a table"))
        drawing = f'<p class="empty">{nothing}</p>' if self.is_empty else self.svg()
        download = escape(_("Download “%(title)s” as CSV")) % {"title": title}
        return mark_safe(  # noqa: S308 - every text below went through escape()
            f'<figure class="chart" aria-labelledby="{ident}-caption">\n'
            f'  <figcaption id="{ident}-caption" class="chart-title">{title}</figcaption>\n'
            f"  {drawing}\n"
            f'  <details class="chart-data">\n'
            f"    <summary>{as_table}</summary>\n"
            f'    <div class="table-wrap">{self.table_html()}</div>\n'
            f"  </details>\n"
            f'  <a class="chart-csv small" href="?{escape(csv_query)}&amp;csv={ident}" download>'
            f"{download}</a>\n"
            f"</figure>"
        )

    def csv_response(self, filename: str) -> HttpResponse:
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        table = self.table()
        writer = csv.writer(response)
        writer.writerow(table["header"])
        writer.writerows(table["rows"])
        return response

    # -- drawing ------------------------------------------------------------------------

    def svg(self) -> SafeString:
        draw = {LINE: _line, BAR: _bars, STACKED: _columns}[self.kind]
        body, height = draw(self)
        ident = escape(self.id)
        return mark_safe(  # noqa: S308 - every text below went through escape()
            f'<svg class="chart-svg" role="img" aria-labelledby="{ident}-title {ident}-desc" '
            f'viewBox="0 0 {WIDTH} {height}" width="100%" '
            f'preserveAspectRatio="xMinYMin meet" font-size="{FONT}" '
            f'xmlns="http://www.w3.org/2000/svg">'
            f'<title id="{ident}-title">{escape(self.title)}</title>'
            f'<desc id="{ident}-desc">{escape(self.description)}</desc>'
            f"{_defs(self)}{body}</svg>"
        )


# -- text and scales ---------------------------------------------------------------------


def escape(text) -> str:
    """What django.utils.html.escape writes, without its wrapper for lazy strings: a
    chart escapes thousands of labels and tooltips, and the wrapper cost more than
    the escaping itself."""
    return html.escape(str(text))


def round_half_up(value: float, decimals: int = 1) -> str:
    """0.95 -> '1.0', 1.25 -> '1.3': as people round, not as binary floats do."""
    return str(Decimal(repr(value)).quantize(Decimal(1).scaleb(-decimals), ROUND_HALF_UP))


def text_width(text: str, size: int = FONT) -> float:
    """An estimate of rendered width: wide (CJK) characters take a full em."""
    return sum(
        size if unicodedata.east_asian_width(ch) in ("W", "F") else size * 0.6 for ch in text
    )


def _clip(text: str, width: float) -> str:
    if text_width(text) <= width:
        return text
    while text and text_width(text + "…") > width:
        text = text[:-1]
    return text + "…"


def nice_ticks(lo: float, hi: float, *, integer: bool, count: int = 5) -> list[float]:
    """Round tick values covering [lo, hi]: 0, 5, 10, ... or 0, 0.25, 0.5, ..."""
    if hi <= lo:
        hi = lo + 1
    raw = (hi - lo) / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = magnitude * 10
    for m in (1, 2, 2.5, 5, 10):
        if m * magnitude >= raw and not (integer and (m * magnitude) % 1):
            step = m * magnitude
            break
    if integer:
        step = max(step, 1)
    first = math.floor(lo / step) * step
    last = math.ceil(hi / step) * step
    n = round((last - first) / step)
    return [first + i * step for i in range(n + 1)]


def _tick_label(value: float) -> str:
    if abs(value - round(value)) < 1e-9:
        return f"{round(value):,}"
    return f"{value:,.2f}".rstrip("0")


def _range(chart: Chart) -> list[float]:
    values = [v for s in chart.charted for v in s.values if v is not None]
    lo = min([0.0, *values]) if chart.y_min is None else chart.y_min
    hi = max([0.0, *values]) if chart.y_max is None else chart.y_max
    if chart.y_max is None and hi == lo:
        hi = lo + 1
    integer = all(isinstance(v, int) for v in values)
    return nice_ticks(lo, hi, integer=integer)


def _n(value: float) -> str:
    return f"{value:.1f}"


def _tooltip(chart: Chart, series: Series, category: str, value) -> str:
    unit = "%" if chart.unit == "%" else f" {chart.unit}" if chart.unit else ""
    return escape(f"{series.label}, {category}: {chart.format_in(series, value)}{unit}")


# -- legend and fills --------------------------------------------------------------------


def _defs(chart: Chart) -> str:
    if chart.kind == LINE:
        return ""
    patterns = []
    for i, _series in enumerate(chart.charted):
        colour, fill = PALETTE[i % len(PALETTE)], FILLS[i % len(FILLS)]
        pid = f"{escape(chart.id)}-fill{i}"
        if fill == "solid":
            continue
        marks = {
            "hatch": f'<path d="M0 6 L6 0" stroke="{colour}" stroke-width="2"/>',
            "rhatch": f'<path d="M0 0 L6 6" stroke="{colour}" stroke-width="2"/>',
            "dots": f'<circle cx="3" cy="3" r="1.6" fill="{colour}"/>',
            "cross": f'<path d="M0 3 H6 M3 0 V6" stroke="{colour}" stroke-width="1.5"/>',
        }[fill]
        patterns.append(
            f'<pattern id="{pid}" width="6" height="6" patternUnits="userSpaceOnUse">'
            f'<rect width="6" height="6" fill="#fff"/>{marks}</pattern>'
        )
    return f"<defs>{''.join(patterns)}</defs>" if patterns else ""


def _bar_fill(chart: Chart, i: int) -> str:
    if FILLS[i % len(FILLS)] == "solid":
        return PALETTE[i % len(PALETTE)]
    return f"url(#{escape(chart.id)}-fill{i})"


def _marker(kind: str, x: float, y: float, colour: str, title: str = "") -> str:
    tip = f"<title>{title}</title>" if title else ""
    if kind == "circle":
        return f'<circle cx="{_n(x)}" cy="{_n(y)}" r="3.5" fill="{colour}">{tip}</circle>'
    if kind == "square":
        return (
            f'<rect x="{_n(x - 3.5)}" y="{_n(y - 3.5)}" width="7" height="7" '
            f'fill="{colour}">{tip}</rect>'
        )
    if kind == "triangle":
        points = f"{_n(x)},{_n(y - 4.5)} {_n(x + 4.5)},{_n(y + 3.5)} {_n(x - 4.5)},{_n(y + 3.5)}"
        return f'<polygon points="{points}" fill="{colour}">{tip}</polygon>'
    if kind == "diamond":
        points = f"{_n(x)},{_n(y - 5)} {_n(x + 5)},{_n(y)} {_n(x)},{_n(y + 5)} {_n(x - 5)},{_n(y)}"
        return f'<polygon points="{points}" fill="{colour}">{tip}</polygon>'
    return (  # cross
        f'<path d="M{_n(x - 4)} {_n(y - 4)} L{_n(x + 4)} {_n(y + 4)} M{_n(x - 4)} {_n(y + 4)} '
        f'L{_n(x + 4)} {_n(y - 4)}" stroke="{colour}" stroke-width="2">{tip}</path>'
    )


def _legend(chart: Chart, top: float) -> tuple[str, float]:
    """Legend items in rows across the top; returns the markup and its height."""
    parts, x, y = [], 8.0, top + 10
    for i, series in enumerate(chart.charted):
        colour = PALETTE[i % len(PALETTE)]
        label = _clip(series.label, 260)
        width = 30 + text_width(label) + 18
        if x + width > WIDTH - 8 and x > 8:
            x, y = 8.0, y + 20
        if chart.kind == LINE:
            dash = DASHES[i % len(DASHES)]
            dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
            parts.append(
                f'<path d="M{_n(x)} {_n(y)} H{_n(x + 24)}" stroke="{colour}" '
                f'stroke-width="2.5"{dash_attr}/>'
                + _marker(MARKERS[i % len(MARKERS)], x + 12, y, colour)
            )
        else:
            parts.append(
                f'<rect x="{_n(x)}" y="{_n(y - 6)}" width="24" height="12" '
                f'fill="{_bar_fill(chart, i)}" stroke="{colour}"/>'
            )
        parts.append(f'<text x="{_n(x + 30)}" y="{_n(y + 4)}" fill="{INK}">{escape(label)}</text>')
        x += width
    return "".join(parts), (y - top) + 14


# -- axes shared by the line chart and the stacked columns --------------------------------


def _unit(chart: Chart, x: float, y: float) -> str:
    if not chart.unit:
        return ""
    return f'<text x="{_n(x)}" y="{_n(y)}" fill="{MUTED}">{escape(chart.unit)}</text>'


def _grid(ticks, tick_labels, left: float, y_at) -> str:
    """A horizontal line per tick (the zero line darker) with its label on the left."""
    lines = []
    for tick, label in zip(ticks, tick_labels, strict=True):
        y = y_at(tick)
        stroke = MUTED if tick == 0 else GRID
        lines.append(
            f'<path d="M{_n(left)} {_n(y)} H{_n(WIDTH - 12)}" stroke="{stroke}" stroke-width="1"/>'
            f'<text x="{_n(left - 6)}" y="{_n(y + 4)}" text-anchor="end" fill="{MUTED}">'
            f"{escape(label)}</text>"
        )
    return "".join(lines)


def _label_every(labels, band: float) -> int:
    """Label every n-th category, so the widest label fits."""
    widest = max((text_width(c) for c in labels), default=0) + 10
    return max(1, math.ceil(widest / band))


def _axis_label(text: str, x: float, bottom: float) -> str:
    return (
        f'<text x="{_n(x)}" y="{bottom + 18}" text-anchor="middle" fill="{MUTED}">'
        f"{escape(text)}</text>"
    )


# -- line chart --------------------------------------------------------------------------


def _line(chart: Chart) -> tuple[str, int]:
    legend, legend_height = _legend(chart, 0)
    ticks = _range(chart)
    lo, hi = ticks[0], ticks[-1]
    tick_labels = [_tick_label(t) for t in ticks]
    left = max(text_width(t) for t in tick_labels) + 14
    top = legend_height + (22 if chart.unit else 10)
    plot_h = 200
    bottom = top + plot_h
    height = int(bottom + 30)
    plot_w = WIDTH - left - 12
    n = max(len(chart.categories), 1)
    band = plot_w / n

    def x_at(i: int) -> float:
        return left + band * (i + 0.5)

    def y_at(v: float) -> float:
        return bottom - (v - lo) / (hi - lo) * plot_h

    out = [legend, _unit(chart, left, top - 8), _grid(ticks, tick_labels, left, y_at)]
    axis_labels = chart.axis_labels or chart.categories
    every = _label_every(axis_labels, band)
    for i, category in enumerate(axis_labels):
        if i % every == 0:
            out.append(_axis_label(category, x_at(i), bottom))
    for s_index, series in enumerate(chart.charted):
        colour = PALETTE[s_index % len(PALETTE)]
        dash = DASHES[s_index % len(DASHES)]
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        path, pen_down, points = [], False, []
        for i, value in enumerate(series.values):
            if value is None:
                pen_down = False
                continue
            x, y = x_at(i), y_at(value)
            path.append(f"{'L' if pen_down else 'M'}{_n(x)} {_n(y)}")
            pen_down = True
            alone = (i == 0 or series.values[i - 1] is None) and (
                i == len(series.values) - 1 or series.values[i + 1] is None
            )
            if len(series.values) <= MARKERS_UP_TO or alone:
                points.append((x, y, chart.categories[i], value))
        if path:
            out.append(
                f'<path d="{" ".join(path)}" fill="none" stroke="{colour}" stroke-width="2.5" '
                f'stroke-linejoin="round"{dash_attr}/>'
            )
        for x, y, category, value in points:
            tip = _tooltip(chart, series, category, value)
            out.append(_marker(MARKERS[s_index % len(MARKERS)], x, y, colour, tip))
    return "".join(out), height


# -- horizontal grouped bars -------------------------------------------------------------


def _bars(chart: Chart) -> tuple[str, int]:
    legend, legend_height = _legend(chart, 0)
    charted = chart.charted
    ticks = _range(chart)
    lo, hi = ticks[0], ticks[-1]
    label_width = min(max((text_width(c) for c in chart.categories), default=40), 220)
    if chart.sections:
        label_width = max(label_width, min(max(text_width(h) for h, _ in chart.sections), 220))
    left = label_width + 16
    # Room for the value written after a bar: the widest of them (amounts run long).
    values_width = max(
        (text_width(chart.format_in(s, v), 11) for s in charted for v in s.values if v is not None),
        default=0,
    )
    right = WIDTH - max(56, values_width + 12)
    top = legend_height + (22 if chart.unit else 12)
    bar = 13
    row_height = bar * len(charted) + 10
    headings = {}
    start = 0
    for heading, count in chart.sections:
        headings[start] = heading
        start += count
    rows_height = row_height * len(chart.categories) + 24 * len(headings)
    bottom = top + rows_height
    height = int(bottom + 28)

    def x_at(v: float) -> float:
        return left + (v - lo) / (hi - lo) * (right - left)

    out = [legend]
    if chart.unit:
        out.append(
            f'<text x="{_n(right)}" y="{_n(top - 8)}" text-anchor="end" fill="{MUTED}">'
            f"{escape(chart.unit)}</text>"
        )
    for tick in ticks:
        x = x_at(tick)
        stroke = MUTED if tick == 0 else GRID
        out.append(
            f'<path d="M{_n(x)} {_n(top)} V{_n(bottom)}" stroke="{stroke}" stroke-width="1"/>'
            f'<text x="{_n(x)}" y="{_n(bottom + 16)}" text-anchor="middle" fill="{MUTED}">'
            f"{escape(_tick_label(tick))}</text>"
        )
    y = top
    zero = x_at(0)
    for i, category in enumerate(chart.categories):
        if i in headings:
            out.append(
                f'<text x="8" y="{_n(y + 16)}" font-weight="600" fill="{INK}">'
                f"{escape(_clip(headings[i], label_width))}</text>"
            )
            y += 24
        label = _clip(category, label_width)
        full = f"<title>{escape(category)}</title>" if label != category else ""
        out.append(
            f'<text x="{_n(left - 8)}" y="{_n(y + row_height / 2 + 4)}" text-anchor="end" '
            f'fill="{INK}">{full}{escape(label)}</text>'
        )
        for s_index, series in enumerate(charted):
            value = series.values[i]
            bar_y = y + 5 + s_index * bar
            if value is None:
                continue
            x0, x1 = sorted((zero, x_at(value)))
            colour = PALETTE[s_index % len(PALETTE)]
            tip = _tooltip(chart, series, category, value)
            out.append(
                f'<rect x="{_n(x0)}" y="{_n(bar_y)}" width="{_n(max(x1 - x0, 1))}" '
                f'height="{bar - 2}" fill="{_bar_fill(chart, s_index)}" stroke="{colour}">'
                f"<title>{tip}</title></rect>"
                f'<text x="{_n(max(x1, zero) + 4)}" y="{_n(bar_y + bar - 3)}" font-size="11" '
                f'fill="{INK}">{escape(chart.format_in(series, value))}</text>'
            )
        y += row_height
    return "".join(out), height


# -- vertical stacked columns ------------------------------------------------------------


def _columns(chart: Chart) -> tuple[str, int]:
    """A column per category, its series stacked bottom-up in legend order (values
    are counts or amounts, not negative); the column's total is written above it."""
    legend, legend_height = _legend(chart, 0)
    charted = chart.charted
    totals = [sum(s.values[i] or 0 for s in charted) for i in range(len(chart.categories))]
    integer = all(isinstance(v, int) for s in charted for v in s.values if v is not None)
    ticks = nice_ticks(0, max([0, *totals]), integer=integer)
    hi = ticks[-1]
    tick_labels = [_tick_label(t) for t in ticks]
    left = max(text_width(t) for t in tick_labels) + 14
    top = legend_height + (22 if chart.unit else 14) + 14  # room for the top total
    plot_h = 200
    bottom = top + plot_h
    height = int(bottom + 30)
    plot_w = WIDTH - left - 12
    band = plot_w / max(len(chart.categories), 1)
    column = min(band * 0.7, 48)

    def y_at(v: float) -> float:
        return bottom - v / hi * plot_h

    out = [legend, _unit(chart, left, top - 22), _grid(ticks, tick_labels, left, y_at)]
    axis_labels = chart.axis_labels or chart.categories
    every = _label_every(axis_labels, band)
    for i, category in enumerate(chart.categories):
        x = left + band * (i + 0.5)
        if i % every == 0:
            out.append(_axis_label(axis_labels[i], x, bottom))
        base = 0.0
        for s_index, series in enumerate(charted):
            value = series.values[i]
            if not value:
                continue
            y0, y1 = y_at(base + value), y_at(base)
            tip = _tooltip(chart, series, category, value)
            out.append(
                f'<rect x="{_n(x - column / 2)}" y="{_n(y0)}" width="{_n(column)}" '
                f'height="{_n(max(y1 - y0, 1))}" fill="{_bar_fill(chart, s_index)}" '
                f'stroke="{PALETTE[s_index % len(PALETTE)]}"><title>{tip}</title></rect>'
            )
            base += value
        if totals[i]:
            out.append(
                f'<text x="{_n(x)}" y="{_n(y_at(totals[i]) - 4)}" text-anchor="middle" '
                f'font-size="11" fill="{INK}">{escape(chart.format(totals[i]))}</text>'
            )
    return "".join(out), height

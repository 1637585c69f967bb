"""Server-drawn SVG charts (helpdesk/charts.py): accessible, escaped, not colour-only."""

import csv
import io
import re

import pytest

from helpdesk.charts import (
    BAR,
    LINE,
    STACKED,
    Chart,
    Series,
    nice_ticks,
    round_half_up,
    text_width,
)


def line(**kwargs) -> Chart:
    fields = {
        "id": "volume",
        "kind": LINE,
        "title": "Tickets created and solved",
        "description": "Per day, 9 to 11 November.",
        "x_label": "Day",
        "categories": ["2026-11-09", "2026-11-10", "2026-11-11"],
        "series": [Series("Created", [2, 1, 3]), Series("Solved", [1, None, 2])],
        "unit": "tickets",
    }
    return Chart(**{**fields, **kwargs})


def test_a_chart_is_an_image_labelled_by_its_title_and_description():
    svg = str(line().svg())
    assert svg.startswith('<svg class="chart-svg" role="img"')
    assert 'aria-labelledby="volume-title volume-desc"' in svg
    assert '<title id="volume-title">Tickets created and solved</title>' in svg
    assert '<desc id="volume-desc">Per day, 9 to 11 November.</desc>' in svg


def test_series_differ_by_more_than_colour():
    svg = str(line().svg())
    # The second series is dashed and marked with squares; the first is solid with circles.
    assert 'stroke-dasharray="7 4"' in svg
    assert "<rect" in svg and "<circle" in svg
    # The legend names each series.
    assert ">Created</text>" in svg and ">Solved</text>" in svg
    bars = str(line(kind=BAR).svg())
    assert '<pattern id="volume-fill1"' in bars  # hatched, beside a solid first series
    assert 'fill="url(#volume-fill1)"' in bars


def test_a_missing_value_breaks_the_line():
    svg = str(line().svg())
    solved_path = re.findall(r'<path d="(M[^"]+)" fill="none" stroke="#C4540A"', svg)[0]
    assert solved_path.count("M") == 2 and "L" not in solved_path  # two lone points


def test_points_carry_their_value_as_a_tooltip():
    svg = str(line().svg())
    assert "<title>Created, 2026-11-10: 1 tickets</title>" in svg


def test_text_is_escaped():
    chart = line(title="<script>x</script>", categories=["a&b", "<i>", "c"])
    svg = str(chart.svg())
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    assert "a&amp;b" in svg and "<i>" not in svg


def test_wide_characters_are_measured_as_wide():
    assert text_width("计费问题") == 4 * 12
    assert text_width("Billing") < text_width("计费问题计费问题")
    chart = Chart(
        id="cats",
        kind=BAR,
        title="按类别",
        description="首次响应时间",
        x_label="类别",
        categories=["计费", "技术问题与故障排除及其他非常长的类别名称" * 3],
        series=[Series("中位数", [1.5, 3.0])],
    )
    svg = str(chart.svg())
    assert ">计费</text>" in svg
    # Too long for the label column: shortened, with the whole name as its tooltip.
    assert "…" in svg and "<title>技术问题与故障排除" in svg


def test_bars_can_go_below_zero():
    chart = line(kind=BAR, y_min=-100, y_max=100, series=[Series("NPS", [-50.0, 20.0, None])])
    svg = str(chart.svg())
    assert ">-100</text>" in svg and ">100</text>" in svg
    assert ">-50.0</text>" in svg


def test_the_table_and_the_csv_hold_the_same_numbers():
    chart = line(series=[Series("Created", [2, 1, 3]), Series("Share", [33.33, None, 0.95])])
    table = chart.table()
    assert table["header"] == ["Day", "Created", "Share"]
    assert table["rows"][0] == ["2026-11-09", "2", "33.3"]
    assert table["rows"][1] == ["2026-11-10", "1", ""]
    assert table["rows"][2] == ["2026-11-11", "3", "1.0"]
    response = chart.csv_response("volume.csv")
    assert list(csv.reader(io.StringIO(response.content.decode()))) == [
        table["header"],
        *table["rows"],
    ]


def test_sections_add_a_column_to_the_table():
    chart = line(
        kind=BAR,
        categories=["Billing", "High"],
        series=[Series("Median", [1.0, 2.0])],
        sections=[("Category", 1), ("Priority", 1)],
        section_label="Grouping",
    )
    assert chart.table()["rows"] == [["Category", "Billing", "1.0"], ["Priority", "High", "2.0"]]
    assert ">Category</text>" in str(chart.svg())


def test_an_empty_chart_says_so():
    assert line(series=[Series("Created", [None, None, None])]).is_empty
    assert not line(series=[Series("Created", [0, 0, 0])]).is_empty  # zeros are data


def test_the_figure_has_the_drawing_its_table_and_a_csv_link():
    figure = str(line(title="A & B").figure_html("start=2026-11-09&plan=2"))
    assert figure.startswith('<figure class="chart" aria-labelledby="volume-caption">')
    assert '<figcaption id="volume-caption" class="chart-title">A &amp; B</figcaption>' in figure
    assert '<svg class="chart-svg" role="img"' in figure
    assert "<summary>Numbers as a table</summary>" in figure and "<table" in figure
    assert 'href="?start=2026-11-09&amp;plan=2&amp;csv=volume" download>' in figure
    assert "Download “A &amp; B” as CSV</a>" in figure
    empty = str(line(series=[Series("Created", [None, None, None])]).figure_html(""))
    assert '<p class="empty">No data in this range.</p>' in empty and "<svg" not in empty


def test_round_ticks_and_rounding():
    assert nice_ticks(0, 7, integer=True) == [0, 2, 4, 6, 8]
    assert nice_ticks(0, 3, integer=True) == [0, 1, 2, 3]
    assert nice_ticks(0, 1, integer=False) == pytest.approx([0, 0.2, 0.4, 0.6, 0.8, 1.0])
    assert nice_ticks(-100, 100, integer=False) == [-100, -50, 0, 50, 100]
    assert (round_half_up(0.95), round_half_up(1.25), round_half_up(2 / 3, 2)) == (
        "1.0",
        "1.3",
        "0.67",
    )


def test_stacked_columns_pile_the_series_and_write_the_total():
    chart = line(
        kind=STACKED,
        series=[Series("Healthy", [2, 0, 1]), Series("At risk", [1, 0, 3])],
        unit="organizations",
    )
    svg = str(chart.svg())
    assert '<pattern id="volume-fill1"' in svg and 'fill="url(#volume-fill1)"' in svg
    assert "<title>At risk, 2026-11-11: 3 organizations</title>" in svg
    # One segment per non-zero value, the column's total above it, none for an empty one.
    assert svg.count("<rect x=") - 2 == 4  # the legend has a swatch per series
    assert 'font-size="11" fill="#1d2433">3</text>' in svg
    assert 'font-size="11" fill="#1d2433">4</text>' in svg
    assert 'font-size="11" fill="#1d2433">0</text>' not in svg


def test_a_series_may_have_decimals_of_its_own():
    chart = line(
        series=[Series("Rate", [50.0, 66.66, None]), Series("ARR", [1000.0, 1234.5, 0.0], False, 2)]
    )
    assert chart.table()["rows"] == [
        ["2026-11-09", "50.0", "1000.00"],
        ["2026-11-10", "66.7", "1234.50"],
        ["2026-11-11", "", "0.00"],
    ]


def test_long_values_after_bars_stay_inside_the_drawing():
    from helpdesk.charts import WIDTH

    chart = line(
        kind=BAR,
        categories=["Healthy", "At risk"],
        series=[Series("ARR", [300000.0, 120000.5], decimals=2)],
    )
    svg = str(chart.svg())
    for x, text in re.findall(r'<text x="([\d.]+)"[^>]*font-size="11"[^>]*>([^<]+)</text>', svg):
        assert float(x) + text_width(text, 11) <= WIDTH, text
    assert ">300000.00</text>" in svg


def test_the_figure_speaks_chinese():
    from django.utils import translation

    with translation.override("zh-hans"):
        figure = str(line().figure_html("start=2026-11-01"))
        empty = str(line(series=[Series("Created", [None, None, None])]).figure_html(""))
    assert "以表格查看数据" in figure
    assert "此时间范围内没有数据。" in empty

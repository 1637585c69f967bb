"""`{{ chart|chart_figure:csv_query }}`: a chart (helpdesk/charts.py) as the page shows
it, with its numbers as a table and a CSV link."""

from django import template

register = template.Library()


@register.filter
def chart_figure(chart, csv_query: str):
    return chart.figure_html(csv_query)

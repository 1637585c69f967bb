"""Every date and time input holds its value in the format browsers read (yyyy-mm-dd,
HH:MM, yyyy-mm-ddTHH:MM), in every language: a browser shows a value in any other format
as empty, and the form then comes back without it ("This field is required.").
Chinese formats dates as 2026/11/07, which the SLA report once put into its inputs.

Two walks, both generated: every page of tests/pages.py and every other route of the URL
conf as each persona, in English and in Chinese, reading each `<input type=date|time|
datetime-local|month|week>`; and every form class of our apps with a date or time field,
rendered with a value in both languages.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from datetime import date, datetime, time
from html.parser import HTMLParser

import pytest
from django import forms
from django.utils import translation

from tests.pages import OUR_APPS, PERSONAS, client_for, is_page, page_routes, page_views, populate

ISO = {
    "date": re.compile(r"\d{4}-\d{2}-\d{2}"),
    "time": re.compile(r"\d{2}:\d{2}(:\d{2}(\.\d+)?)?"),
    "datetime-local": re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?"),
    "month": re.compile(r"\d{4}-\d{2}"),
    "week": re.compile(r"\d{4}-W\d{2}"),
}
LANGUAGES = ("en", "zh-hans")


class DateInputs(HTMLParser):
    def __init__(self):
        super().__init__()
        self.found: list[tuple[str, str, str]] = []  # (type, name, value)

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        kind = (attributes.get("type") or "").lower()
        if tag == "input" and kind in ISO:
            self.found.append((kind, attributes.get("name") or "", attributes.get("value") or ""))


def date_inputs(html: str) -> list[tuple[str, str, str]]:
    parser = DateInputs()
    parser.feed(html)
    return parser.found


def not_iso(html: str) -> list[str]:
    return [
        f"{name}={value!r} ({kind})"
        for kind, name, value in date_inputs(html)
        if value and not ISO[kind].fullmatch(value)
    ]


@pytest.fixture
def data(acme):
    return populate(acme)


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_date_input_of_every_page_holds_an_iso_value(data, language):
    wrong, seen = [], 0
    for view in page_views(data):
        for persona in view.page.personas:
            client = client_for(data, persona, language=language)
            html = client.get(view.path, view.page.query).content.decode()
            seen += len(date_inputs(html))
            wrong += [f"{view.label} ({persona}): {problem}" for problem in not_iso(html)]
    assert wrong == []
    # The SLA report, the dashboards, the success reports and a renewal's next date.
    assert seen >= 7


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_route_answers_date_inputs_in_iso_after_a_submission(data, language):
    """Forms filled back from what was submitted (a report's range in the URL, a form
    refused for another field) keep the submitted dates as they came."""
    wrong = []
    for route in page_routes(data):
        for persona in PERSONAS:
            client = client_for(data, persona, language=language)
            query = {"start": "2026-11-01", "end": "2026-11-30", "q": "export"}
            response = client.get(route.path, query)
            if is_page(response) or response.status_code == 400:
                wrong += [f"{route} ({persona}): {p}" for p in not_iso(response.content.decode())]
    assert wrong == []


def _our_form_classes() -> list[type[forms.BaseForm]]:
    """Every form class defined in our apps (their modules imported, so none is missed)."""
    for app in OUR_APPS:
        package = importlib.import_module(app)
        for module in pkgutil.walk_packages(package.__path__, f"{app}."):
            if ".migrations" not in module.name and ".management" not in module.name:
                importlib.import_module(module.name)
    found, todo = [], [forms.BaseForm]
    while todo:
        for subclass in todo.pop().__subclasses__():
            todo.append(subclass)
            if subclass.__module__.split(".")[0] in OUR_APPS:
                found.append(subclass)
    return found


SAMPLES = {
    forms.DateTimeField: datetime(2026, 11, 7, 9, 5),
    forms.DateField: date(2026, 11, 7),
    forms.TimeField: time(9, 5),
}


def _sample(field):
    return next(value for kind, value in SAMPLES.items() if isinstance(field, kind))


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_date_and_time_field_of_our_forms_renders_its_value_in_iso(language):
    fields = [
        (form.__name__, name, field)
        for form in _our_form_classes()
        for name, field in form.base_fields.items()
        if isinstance(field, tuple(SAMPLES))
    ]
    assert {form for form, _name, _field in fields} >= {"DateRangeForm", "ReportForm"}
    wrong = []
    with translation.override(language):
        for form, name, field in fields:
            html = field.widget.render(name, _sample(field))
            kinds = [kind for kind, _name, _value in date_inputs(html)]
            if not kinds:
                wrong.append(f"{form}.{name}: not a date or time input: {html}")
            wrong += [f"{form}.{name}: {problem}" for problem in not_iso(html)]
    assert wrong == []


def test_the_reader_finds_what_browsers_refuse():
    html = '<input type="date" name="start" value="2026/11/07"><input type="time" value="9:05">'
    assert not_iso(html) == ["start='2026/11/07' (date)", "='9:05' (time)"]
    assert not_iso('<input type="date" value="2026-11-07"><input type="text" value="x">') == []

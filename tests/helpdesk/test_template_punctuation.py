"""No sentence in a template ends right after a date or a time whose English format ends
in a full stop of its own ("p.m.", "Sept."): "Survey goes out {{ when }}." read
"7:59 p.m..".

Every template of the project (pages and emails, English source text) is read; a value
is such a date or time when it passes through the `date` or `time` filter with a format
that, in English, can end in a full stop (tried on a few moments), in a
`blocktranslate`'s `with` or in place.
"""

import re
from datetime import datetime
from pathlib import Path

from django.conf import settings
from django.utils import formats, translation

BLOCK = re.compile(
    r"{%\s*blocktranslate\b(?P<args>.*?)%}(?P<body>.*?){%\s*endblocktranslate\s*%}", re.S
)
BOUND = re.compile(r"(\w+)=(\S+)")
IN_PLACE = re.compile(r"{{[^}]*}}\.(?!\.)")
FILTER = re.compile(r"\|(date|time)\b(?::\"([^\"]*)\")?")
MOMENTS = [datetime(2026, 12, 6, 19, 59), datetime(2026, 9, 1, 7, 5), datetime(2026, 5, 4, 12)]
OUR_APPS = ("helpdesk", "plans", "tickets", "sla", "knowledge", "feedback", "success", "phone")


def templates() -> list[Path]:
    roots = [Path(settings.BASE_DIR) / "templates"]
    roots += [Path(settings.BASE_DIR) / app / "templates" for app in OUR_APPS]
    return [
        path
        for root in roots
        if root.exists()
        for path in root.rglob("*")
        if path.suffix in (".html", ".txt")
    ]


def may_end_in_a_full_stop(expression: str) -> bool:
    """Does `expression` format a date or time that may end in "." in English?"""
    match = FILTER.search(expression)
    if match is None:
        return False
    kind, format_name = match[1], match[2]
    show = formats.date_format if kind == "date" else formats.time_format
    with translation.override("en"):
        return any(show(moment, format_name).endswith(".") for moment in MOMENTS)


def full_stops_after_times(source: str) -> list[str]:
    found = [m.group(0) for m in IN_PLACE.finditer(source) if may_end_in_a_full_stop(m.group(0))]
    for block in BLOCK.finditer(source):
        for name, value in BOUND.findall(block["args"]):
            if may_end_in_a_full_stop(value):
                stop = re.search(r"{{\s*" + name + r"\s*}}\.(?!\.)", block["body"])
                if stop:
                    found.append(stop.group(0))
    return found


def test_no_template_puts_a_full_stop_after_a_date_or_a_time():
    found = {
        str(path.relative_to(settings.BASE_DIR)): stops
        for path in templates()
        if (stops := full_stops_after_times(path.read_text()))
    }
    assert found == {}


def test_the_scan_finds_them():
    source = (
        '{% blocktranslate with when=survey.send_at|date:"SHORT_DATETIME_FORMAT" %}'
        "Survey goes out {{ when }}.{% endblocktranslate %} "
        "{% blocktranslate with n=count %}{{ n }}.{% endblocktranslate %} "
        '{{ ticket.created_at|date:"P" }}. {{ ticket.created_at|date:"P" }}...'
    )
    assert full_stops_after_times(source) == [
        '{{ ticket.created_at|date:"P" }}.',
        "{{ when }}.",
    ]
    assert may_end_in_a_full_stop('x|date:"N j"') is False  # "Sept. 1"
    assert may_end_in_a_full_stop('x|date:"M. j, \'y N"') is True
    assert len(templates()) > 50

"""User-written text to safe HTML.

Ticket messages and macros are Markdown (CommonMark with tables and
strikethrough); raw HTML in them is shown as text, and the rendered HTML is
sanitized again by nh3 with an allowlist, so a message cannot run script in
anyone's browser. HTML from email goes through the same sanitizer.
"""

import re

import nh3
from markdown_it import MarkdownIt

_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False, "breaks": True}).enable(
    ["table", "strikethrough"]
)

ALLOWED_TAGS = {
    "a",
    "abbr",
    "b",
    "blockquote",
    "br",
    "code",
    "del",
    "div",
    "em",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "i",
    "img",
    "li",
    "ol",
    "p",
    "pre",
    "s",
    "span",
    "strong",
    "sub",
    "sup",
    "table",
    "tbody",
    "td",
    "th",
    "thead",
    "tr",
    "u",
    "ul",
}
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "td": {"align"},
    "th": {"align"},
    "ol": {"start"},
}
# data: and javascript: URLs are refused; images load only over http(s) or from the app.
URL_SCHEMES = {"http", "https", "mailto"}


def sanitize_html(html: str, *, attributes: dict[str, set[str]] | None = None) -> str:
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=attributes or ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )


def render_markdown(text: str) -> str:
    return sanitize_html(_markdown.render(text or ""))


_PLACEHOLDER = re.compile(r"\{\{\s*([a-z_]+)\.([a-z_]+)\s*\}\}")


def fill_placeholders(template: str, values: dict[str, dict[str, object]]) -> str:
    """Replace `{{ customer.first_name }}`-style placeholders with plain values.

    Deliberately not the Django template engine: macro text is admin input and
    must not reach template tags, filters or object attributes beyond this list.
    Unknown placeholders are left as written, so a typo is visible in the preview.
    """

    def replace(match: re.Match) -> str:
        group = values.get(match.group(1), {})
        value = group.get(match.group(2))
        return match.group(0) if value is None else str(value)

    return _PLACEHOLDER.sub(replace, template)

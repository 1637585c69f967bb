"""Article Markdown to safe HTML, with anchors on headings for the table of contents.

Articles are Markdown like ticket messages (raw HTML off, nh3 allowlist after), plus
`id`s on h2/h3 so the table of contents can link to them.
"""

from dataclasses import dataclass

from django.utils.text import slugify
from markdown_it import MarkdownIt

from tickets.rendering import ALLOWED_ATTRIBUTES, sanitize_html

_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable(
    ["table", "strikethrough"]
)
TOC_LEVELS = ("h2", "h3")


@dataclass(frozen=True)
class Heading:
    level: int
    text: str
    anchor: str


def _anchor(text: str, taken: set[str]) -> str:
    base = "h-" + (slugify(text, allow_unicode=True) or "section")
    anchor, n = base, 2
    while anchor in taken:
        anchor, n = f"{base}-{n}", n + 1
    taken.add(anchor)
    return anchor


def render_article(text: str) -> tuple[str, list[Heading]]:
    """(sanitized HTML, the h2/h3 headings it contains in order)."""
    tokens = _markdown.parse(text or "")
    headings: list[Heading] = []
    taken: set[str] = set()
    for index, token in enumerate(tokens):
        if token.type == "heading_open" and token.tag in TOC_LEVELS:
            inline = tokens[index + 1]
            anchor = _anchor(inline.content, taken)
            token.attrSet("id", anchor)
            headings.append(Heading(int(token.tag[1]), inline.content, anchor))
    html = _markdown.renderer.render(tokens, _markdown.options, {})
    attributes = {**ALLOWED_ATTRIBUTES, "h2": {"id"}, "h3": {"id"}}
    return sanitize_html(html, attributes=attributes), headings


def plain_text(text: str) -> str:
    """The words of a Markdown body, for search (markup and code fences dropped)."""
    tokens = _markdown.parse(text or "")
    words = []
    for token in tokens:
        if token.type == "inline":
            words.append("".join(child.content for child in token.children or []))
        elif token.type in ("fence", "code_block"):
            words.append(token.content)
    return "\n".join(words)

"""Finding English left in a page rendered in Chinese (tests/helpdesk/test_chinese_pages.py).

A page's visible text (text nodes, and the attributes people read: title, alt,
placeholder, aria-label, a button's value) is cut into fragments. A fragment is
English left behind when it holds, as whole words, one of the *phrases*: the msgids of
our catalogue (each run of words between placeholders and tags), and the English names
of tenant data that also has a Chinese name. Words that are tenant data without a
Chinese version (a ticket's subject, a customer's name, an English article) are not
UI: a phrase found inside such a value, where the value appears in the fragment, does
not count. Text inside an element marked `lang="en"` is English on purpose.

Durations and counts have their own rule: a number followed by a space and 月 or 日
reads as a date ("1 月" is January, "4 日" the 4th), never "1 个月" or "4 天".
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

WORD = re.compile(r"[A-Za-z]+(?:['’][A-Za-z]+)*")
# What splits a msgid into the runs of words a page shows as they are.
PLACEHOLDER = re.compile(r"%\(\w+\)[-+ #0-9.]*[sdif]|%[sdif]|\{\{[^}]*\}\}|\{\w*\}|<[^>]+>")
# Addresses, links, paths and time zones (Asia/Shanghai), identifiers (deliver_ticket_event)
# and template placeholders ({{ ticket.number }}) are code or data, whatever words they hold.
CODE = re.compile(
    r"\S+@\S+|https?://\S+|\b[\w.-]+\.(?:localhost|example|com|org)\b\S*"
    r"|[\w+-]+(?:/[\w+-]+)+|\w*_\w*|\{\{[^}]*\}\}|\{%[^%]*%\}"
)
# A duration or count that reads as a date in Chinese ("1 月" = January, "4 日" = the 4th),
# or English units left in a countdown ("3d 4h", "2h 05m", "7m").
DATE_LIKE_DURATION = re.compile(r"\d[\s\xa0]+[月日]")
ENGLISH_UNITS = re.compile(r"(?<![\w.:/-])\d+\s?(?:d|h|m|min|mins|hrs?)\b(?![\w.:/-])")
VOID = {
    "area",
    "base",
    "br",
    "col",
    "embed",
    "hr",
    "img",
    "input",
    "link",
    "meta",
    "source",
    "track",
    "wbr",
}
READ_ATTRIBUTES = ("title", "alt", "placeholder", "aria-label")


# -- the catalogue ---------------------------------------------------------------------------


@dataclass
class Entry:
    msgid: str = ""
    msgid_plural: str = ""
    msgctxt: str | None = None
    msgstr: list[str] = field(default_factory=list)
    fuzzy: bool = False

    @property
    def translated(self) -> bool:
        return bool(self.msgstr) and all(self.msgstr) and not self.fuzzy


def _unquote(text: str) -> str:
    body = text.strip()[1:-1]
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), body)


def read_po(path: Path) -> list[Entry]:
    """The live entries of a .po file (obsolete ones left out), header excluded."""
    entries: list[Entry] = []
    entry = Entry()
    target: tuple[str, int] | None = None
    started = False

    def finish():
        nonlocal entry, started
        if started and entry.msgid:
            entries.append(entry)
        entry, started = Entry(), False

    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            finish()
            target = None
            continue
        if line.startswith("#~"):
            continue
        if line.startswith("#,") and "fuzzy" in line:
            entry.fuzzy = True
            continue
        if line.startswith("#"):
            continue
        keyword, _space, rest = line.partition(" ")
        if line.startswith('"') and target is not None:
            name, index = target
            if name == "msgstr":
                entry.msgstr[index] += _unquote(line)
            else:
                setattr(entry, name, (getattr(entry, name) or "") + _unquote(line))
            continue
        started = True
        if keyword == "msgctxt":
            entry.msgctxt, target = _unquote(rest), ("msgctxt", 0)
        elif keyword == "msgid":
            entry.msgid, target = _unquote(rest), ("msgid", 0)
        elif keyword == "msgid_plural":
            entry.msgid_plural, target = _unquote(rest), ("msgid_plural", 0)
        elif keyword.startswith("msgstr"):
            index = int(keyword[7:-1]) if "[" in keyword else 0
            while len(entry.msgstr) <= index:
                entry.msgstr.append("")
            entry.msgstr[index] = _unquote(rest)
            target = ("msgstr", index)
    finish()
    return entries


def phrases_of(text: str) -> list[tuple[str, ...]]:
    """The runs of words of a msgid that a page would show as they are."""
    runs = []
    for piece in PLACEHOLDER.split(text):
        words = tuple(WORD.findall(piece))
        if words:
            runs.append(words)
    return runs


# -- a page's visible text -------------------------------------------------------------------


class VisibleText(HTMLParser):
    """Text nodes and read attributes, with whether an element around says lang="en"."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.fragments: list[str] = []
        self._stack: list[tuple[str, bool, bool]] = []  # (tag, english, hidden)

    @property
    def _english(self) -> bool:
        return bool(self._stack) and self._stack[-1][1]

    @property
    def _skipped(self) -> bool:
        return bool(self._stack) and self._stack[-1][2]

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        lang = attributes.get("lang")
        english = lang.lower().startswith("en") if lang is not None else self._english
        # Not shown as text: scripts, styles, and <template>s' raw markup; nor read as
        # words: what HTML marks as never translated (code to copy, translate="no").
        skipped = (
            self._skipped
            or tag in ("script", "style", "template")
            or attributes.get("translate") == "no"
        )
        if not english and not skipped:
            for name in READ_ATTRIBUTES:
                if attributes.get(name):
                    self.fragments.append(attributes[name])
            kind = (attributes.get("type") or "").lower()
            if tag == "input" and kind in ("submit", "button", "reset") and attributes.get("value"):
                self.fragments.append(attributes["value"])
        if tag not in VOID:
            self._stack.append((tag, english, skipped))

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in VOID and self._stack and self._stack[-1][0] == tag:
            self._stack.pop()

    def handle_endtag(self, tag):
        for depth in range(len(self._stack) - 1, -1, -1):
            if self._stack[depth][0] == tag:
                del self._stack[depth:]
                return

    def handle_data(self, data):
        if self._english or self._skipped:
            return
        text = " ".join(data.split())
        if text:
            self.fragments.append(text)


def visible_text(html: str) -> list[str]:
    parser = VisibleText()
    parser.feed(html)
    parser.close()
    return parser.fragments


def text_of_html(html: str) -> list[str]:
    """Text nodes of stored HTML (a rendered message or article), as pages show them."""
    parser = VisibleText()
    parser.feed(html)
    parser.close()
    return parser.fragments


# -- the finder ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    phrase: str
    source: str  # where the phrase comes from: "msgid", "duration", or the models it names
    fragment: str

    @property
    def models(self) -> list[str]:
        """The models (app_label.model) whose rows have this English name."""
        return [label for label in self.source.split() if "." in label]

    def __str__(self) -> str:
        return f"{self.phrase!r} ({self.source}) in {self.fragment[:160]!r}"


class EnglishFinder:
    """Phrases that must not show in Chinese, and the data values that may hold them."""

    def __init__(self, allowed: set[str]):
        self._allowed = {_key(phrase) for a in allowed for phrase in phrases_of(a)}
        # first word -> {phrase: (its words as written, where it comes from)}, in lower case
        self._phrases: dict[str, dict[str, tuple[tuple[str, ...], str]]] = defaultdict(dict)
        self._data: dict[str, set[str]] = defaultdict(set)  # word -> values holding it
        self._names: dict[str, set[str]] = defaultdict(set)  # the same, for English names
        self._data_with_numbers: set[str] = set()

    def add_phrase(self, text: str, source: str, *, kept_in: str = "") -> None:
        """English that must not show; runs of words its translation `kept_in` keeps as
        they are (an abbreviation, a product's name) are allowed, and so are runs of
        one-letter words (a keyboard shortcut, a unit: durations have their own rule)."""
        kept = f" {' '.join(_key(phrases) for phrases in phrases_of(kept_in))} "
        for words in phrases_of(text):
            key = _key(words)
            if key in self._allowed or f" {key} " in kept or all(len(w) == 1 for w in words):
                continue
            known = self._phrases[words[0].lower()]
            if key in known and source not in known[key][1].split():
                source = f"{known[key][1]} {source}"  # the same name in two models
            known[key] = (known.get(key, (words,))[0], source)

    def add_data(self, value: str, *, english_name: bool = False) -> None:
        """A value shown as it is stored. `english_name`: the English name of a row that
        has a Chinese one, which covers the catalogue's words inside it but not itself."""
        value = " ".join(value.split())
        if not english_name and (DATE_LIKE_DURATION.search(value) or ENGLISH_UNITS.search(value)):
            self._data_with_numbers.add(value)
        index = self._names if english_name else self._data
        for word in {w.lower() for w in WORD.findall(value)}:
            index[word].add(value)

    def find_in_page(self, fragments: list[str]) -> list[Finding]:
        return [finding for fragment in fragments for finding in self.find(fragment)]

    def find(self, fragment: str) -> list[Finding]:
        findings = []
        cleaned = CODE.sub(lambda m: " " * len(m.group()), fragment)
        tokens = list(WORD.finditer(cleaned))
        for index, token in enumerate(tokens):
            for phrase, source in self._phrases.get(token.group().lower(), {}).values():
                found = tokens[index : index + len(phrase)]
                if len(found) < len(phrase) or not all(
                    _same_word(t.group(), w) for t, w in zip(found, phrase, strict=True)
                ):
                    continue
                start, end = found[0].start(), found[-1].end()
                values = [self._data]
                if source == "msgid":
                    values.append(self._names)
                lower = [w.lower() for w in phrase]
                candidates = set().union(
                    *(min((v.get(w, set()) for w in lower), key=len) for v in values)
                )
                if not _covered(fragment, candidates, start, end):
                    findings.append(Finding(" ".join(phrase), source, fragment))
        for pattern in (DATE_LIKE_DURATION, ENGLISH_UNITS):
            for match in pattern.finditer(cleaned):
                if not _covered(fragment, self._data_with_numbers, match.start(), match.end()):
                    findings.append(Finding(match.group(), "duration", fragment))
        return findings


def _key(words: tuple[str, ...]) -> str:
    return " ".join(w.lower() for w in words)


def _same_word(on_page: str, in_phrase: str) -> bool:
    """Case does not matter (capfirst, titles), except that a word in capitals on the page
    is a code or an abbreviation ("BY", "NO"): it matches only the same capitals."""
    if len(on_page) > 1 and on_page.isupper():
        return on_page == in_phrase
    return on_page.lower() == in_phrase.lower()


def _covered(fragment: str, values, start: int, end: int) -> bool:
    """Does one of `values`, where it appears in `fragment`, cover [start, end)?"""
    for value in values:
        at = fragment.find(value)
        while at != -1:
            if at <= start and end <= at + len(value):
                return True
            at = fragment.find(value, at + 1)
    return False

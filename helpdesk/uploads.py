"""Checking an uploaded file, by its name and by its bytes: one function for every way a
file comes in (the help center's and the agent's forms, inbound mail, suspended mail
made a ticket, knowledge-base pictures; the API and a chat take files through it too
when they do).

A name is only a claim: "invoice.pdf" may be a Windows program. So the content is read as
well (its magic numbers, by puremagic, a pure-Python library that needs nothing from the
system):

- a program, script or web page is refused whatever its name (Windows and Linux
  executables, Java and Android bytecode, Flash, a script starting with "#!", HTML and
  SVG), as its name alone already is (`.exe`, `.js`, `.html`, `.svg`, ...);
- a file whose name says it is a picture or a PDF, which browsers are given inline, must
  carry that format's signature;
- a caller that takes only some types (pictures in articles) gets only those, by content.

Containers shared by documents and programs (ZIP for .docx and .jar, OLE for .doc and
.msi) are judged by their name: their bytes do not tell them apart.
"""

from __future__ import annotations

import io
import mimetypes
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import IO

import puremagic
from django.conf import settings
from django.core.exceptions import ValidationError
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _

# Files a browser or an operating system would run, or render as a page of our
# origin (HTML, SVG): refused whatever their declared content type.
BLOCKED_EXTENSIONS = frozenset(
    {
        ".ade",
        ".adp",
        ".apk",
        ".app",
        ".appx",
        ".bat",
        ".cab",
        ".chm",
        ".cmd",
        ".com",
        ".cpl",
        ".dll",
        ".dmg",
        ".exe",
        ".hta",
        ".htm",
        ".html",
        ".ins",
        ".iso",
        ".isp",
        ".jar",
        ".js",
        ".jse",
        ".lib",
        ".lnk",
        ".mde",
        ".msc",
        ".msi",
        ".msix",
        ".msp",
        ".mst",
        ".nsh",
        ".pif",
        ".ps1",
        ".psm1",
        ".reg",
        ".scr",
        ".sct",
        ".sh",
        ".shb",
        ".shtml",
        ".svg",
        ".svgz",
        ".sys",
        ".vb",
        ".vbe",
        ".vbs",
        ".vxd",
        ".wsc",
        ".wsf",
        ".wsh",
        ".xht",
        ".xhtml",
        ".xml",
    }
)
BLOCKED_CONTENT_TYPES = frozenset(
    {
        "application/x-msdownload",
        "application/x-msdos-program",
        "application/x-sh",
        "application/javascript",
        "text/javascript",
        "text/html",
        "image/svg+xml",
        "application/xhtml+xml",
        "application/x-executable",
        "application/java-archive",
    }
)
# What the bytes of programs and pages are (puremagic's types): refused by content.
PROGRAM_CONTENT_TYPES = frozenset(
    {
        "application/vnd.microsoft.portable-executable",
        "application/x-executable",
        "application/x-sharedlib",
        "application/x-pef-executable",
        "application/x-msdownload",
        "application/java",
        "application/x-java-pack200",
        "application/x-shellscript",
        "application/x-shockwave-flash",
    }
)
PROGRAM_EXTENSIONS = frozenset({".exe", ".dll", ".com", ".sys", ".drv", ".pif", ".dex", ".class"})
PAGE_CONTENT_TYPES = frozenset({"text/html", "image/svg+xml", "application/xhtml+xml"})
# A page's signature at least this long ("<html", "<svg ", "<!DOCTYPE"): a text that
# merely opens with "<!--" or "<h1" is Markdown as often as it is a page.
PAGE_SIGNATURE_MIN = 5
# Types browsers are given inline (tickets/views/attachments.py): what such a name
# claims, the bytes must be.
SIGNED_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf"})


@dataclass(frozen=True)
class Content:
    """What the bytes of a file say it is."""

    types: frozenset[str]  # MIME types of every format whose signature the bytes carry
    is_program: bool
    is_page: bool


def sniff(head: bytes, foot: bytes = b"") -> Content:
    """What a file is by its first bytes (and its last, for formats signed at the end)."""
    if not head:
        return Content(frozenset(), False, False)
    try:
        found = puremagic.magic_string(head + foot[-puremagic.main.max_foot :])
    except (puremagic.PureError, ValueError):  # no known signature: text, CSV, ...
        found = []
    types = frozenset(match.mime_type for match in found if match.mime_type)
    is_program = head.startswith(b"#!") or any(
        match.mime_type in PROGRAM_CONTENT_TYPES
        or match.extension in PROGRAM_EXTENSIONS
        or "executable" in match.name.lower()
        for match in found
    )
    is_page = any(
        match.mime_type in PAGE_CONTENT_TYPES and len(match.byte_match) >= PAGE_SIGNATURE_MIN
        for match in found
    )
    return Content(types, is_program, is_page)


def _head_and_foot(content: IO[bytes] | bytes) -> tuple[bytes, bytes]:
    if isinstance(content, bytes | bytearray):
        data = bytes(content)
        return data[: puremagic.main.max_head], data[-puremagic.main.max_foot :]
    stream = content if hasattr(content, "seek") else io.BytesIO(content.read())
    start = stream.tell()
    stream.seek(0)
    head = stream.read(puremagic.main.max_head)
    try:
        stream.seek(-puremagic.main.max_foot, io.SEEK_END)
    except (OSError, ValueError):  # shorter than the foot
        stream.seek(0)
    foot = stream.read()
    stream.seek(start)
    return head, foot


def name_content_type(name: str, declared: str | None) -> str:
    """The type a file's name says (what it is served as), else what the sender declared."""
    guessed, _encoding = mimetypes.guess_type(name)
    return (guessed or declared or "application/octet-stream").lower()[:100]


def check_upload(
    *,
    name: str,
    size: int,
    declared_type: str | None,
    content: IO[bytes] | bytes,
    max_bytes: int | None = None,
    accept: Collection[str] | None = None,
) -> str:
    """Return the content type to store for the file, or raise ValidationError saying
    what is wrong (its `code`: too_large, blocked_type, not_what_it_says, not_accepted,
    empty). `accept` limits the types taken, by name and by content."""
    limit = settings.ATTACHMENT_MAX_BYTES if max_bytes is None else max_bytes
    if size > limit:
        raise ValidationError(
            _("“%(name)s” is %(size)s; files can be at most %(limit)s.")
            % {"name": name, "size": filesizeformat(size), "limit": filesizeformat(limit)},
            code="too_large",
        )
    suffixes = {suffix.lower() for suffix in PurePosixPath(name).suffixes}
    content_type = name_content_type(name, declared_type)
    head, foot = _head_and_foot(content)
    found = sniff(head, foot)
    if (
        suffixes & BLOCKED_EXTENSIONS
        or content_type in BLOCKED_CONTENT_TYPES
        or (declared_type or "").lower() in BLOCKED_CONTENT_TYPES
        or found.is_program
        or found.is_page
    ):
        raise ValidationError(
            _(
                "“%(name)s” is a type of file we do not accept (programs, scripts and web pages). "
                "Send it as a ZIP archive instead."
            )
            % {"name": name},
            code="blocked_type",
        )
    if size == 0 or not head:
        raise ValidationError(_("“%(name)s” is empty.") % {"name": name}, code="empty")
    if accept is not None and (content_type not in accept or not found.types & set(accept)):
        raise ValidationError(
            _("“%(name)s” is not a type of file we take here.") % {"name": name},
            code="not_accepted",
        )
    if content_type in SIGNED_TYPES and content_type not in found.types:
        raise ValidationError(
            _("“%(name)s” does not hold the %(kind)s its name says.")
            % {"name": name, "kind": _type_name(content_type)},
            code="not_what_it_says",
        )
    return content_type


def _type_name(content_type: str) -> str:
    return {
        "image/png": "PNG",
        "image/jpeg": "JPEG",
        "image/gif": "GIF",
        "image/webp": "WebP",
        "application/pdf": "PDF",
    }.get(content_type, content_type)


__all__ = ["Content", "check_upload", "name_content_type", "sniff"]

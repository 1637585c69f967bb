"""Checks on uploaded files: size and type, with errors a person can act on."""

import mimetypes
from pathlib import PurePosixPath

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
# Types shown inline by the browser; everything else is served as a download.
INLINE_CONTENT_TYPES = frozenset(
    {"image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf", "text/plain"}
)


def max_attachment_bytes() -> int:
    return settings.ATTACHMENT_MAX_BYTES


def clean_content_type(name: str, declared: str | None) -> str:
    guessed, _encoding = mimetypes.guess_type(name)
    return (guessed or declared or "application/octet-stream").lower()[:100]


def validate_upload(name: str, size: int, declared_type: str | None = None) -> str:
    """Return the content type to store, or raise ValidationError saying what is wrong."""
    limit = max_attachment_bytes()
    if size > limit:
        raise ValidationError(
            _("“%(name)s” is %(size)s; files can be at most %(limit)s.")
            % {"name": name, "size": filesizeformat(size), "limit": filesizeformat(limit)},
            code="too_large",
        )
    suffixes = {suffix.lower() for suffix in PurePosixPath(name).suffixes}
    content_type = clean_content_type(name, declared_type)
    if (
        suffixes & BLOCKED_EXTENSIONS
        or content_type in BLOCKED_CONTENT_TYPES
        or ((declared_type or "").lower() in BLOCKED_CONTENT_TYPES)
    ):
        raise ValidationError(
            _(
                "“%(name)s” is a type of file we do not accept (programs, scripts and web pages). "
                "Send it as a ZIP archive instead."
            )
            % {"name": name},
            code="blocked_type",
        )
    if size == 0:
        raise ValidationError(_("“%(name)s” is empty.") % {"name": name}, code="empty")
    return content_type

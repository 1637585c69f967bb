"""Ticket attachments: which types browsers are given inline. Every file is checked,
by name and content, by helpdesk.uploads.check_upload."""

# Types shown inline by the browser; everything else is served as a download.
INLINE_CONTENT_TYPES = frozenset(
    {"image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf", "text/plain"}
)

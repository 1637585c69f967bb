"""Opening files kept in storage (attachments, knowledge-base pictures) for a response."""

import logging

from django.db.models.fields.files import FieldFile
from django.http import Http404

logger = logging.getLogger(__name__)


def open_or_404(file: FieldFile, *, what: str):
    """The stored file, open for reading; a file missing from storage (a lost volume,
    a restore without media) is a 404 for the reader and an error in the log, never a 500."""
    try:
        return file.open("rb")
    except FileNotFoundError:
        logger.error("%s has no file at %s", what, file.name)
        raise Http404 from None

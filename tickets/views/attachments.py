from django.http import FileResponse
from django.views.decorators.http import require_GET

from helpdesk.access import role_required
from helpdesk.models import Role
from helpdesk.stored_files import open_or_404
from tickets.attachments import INLINE_CONTENT_TYPES
from tickets.models import Attachment
from tickets.selectors import attachment_for_user


def attachment_response(attachment: Attachment) -> FileResponse:
    """The file, streamed: images, PDF and text inline, anything else as a download.

    Shared by the help center's link and the API's endpoint, so both serve it alike."""
    inline = attachment.content_type in INLINE_CONTENT_TYPES
    response = FileResponse(
        open_or_404(attachment.file, what=f"Attachment {attachment.key}"),
        as_attachment=not inline,
        filename=attachment.name,
        content_type=attachment.content_type if inline else "application/octet-stream",
    )
    # Uploaded bytes never run as a page of our origin, whatever they contain.
    response["Content-Security-Policy"] = "default-src 'none'; img-src 'self'; sandbox"
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, max-age=3600"
    return response


@require_GET
@role_required(Role.CUSTOMER)
def attachment_download(request, key):
    """Serve an attachment to someone who may see its message; others get a 404."""
    attachment = attachment_for_user(key, user=request.user, membership=request.membership)
    return attachment_response(attachment)

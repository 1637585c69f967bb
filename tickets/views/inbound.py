import hmac
import logging

from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from tickets.inbound import MAX_INBOUND_BYTES, STORAGE_UNAVAILABLE, ingest_email
from tickets.models import SuspendedEmail

logger = logging.getLogger(__name__)

# Seconds a gateway is asked to wait before delivering a mail we could not store.
RETRY_AFTER = 60


@csrf_exempt
@require_POST
def inbound_email(request):
    """POST a raw RFC 822 message (the request body) from a mail gateway.

    Authenticated by the tenant's inbound secret in `X-Inbound-Secret`; the host
    names the tenant, as for every other request. Answers 200 for every mail we
    now hold (a ticket, a reply, ignored, or kept as suspended mail: the JSON's
    `action` says which), so the gateway never retries what is safe here; 503
    when the mail could not be stored, so it does retry (docs/email.md).
    """
    tenant = request.tenant
    if tenant is None:
        return JsonResponse({"error": "unknown host"}, status=404)
    secret = request.headers.get("X-Inbound-Secret", "")
    if not hmac.compare_digest(secret.encode(), tenant.inbound_email_secret.encode()):
        return JsonResponse({"error": "invalid inbound secret"}, status=403)
    declared = (request.headers.get("Content-Length") or "0").strip()
    if not declared.isascii() or not declared.isdigit():
        return JsonResponse({"error": "Content-Length must be a number of bytes"}, status=400)
    if int(declared) > MAX_INBOUND_BYTES:
        return JsonResponse({"error": "message too large"}, status=413)
    # Read from the stream, not request.body: that one stops at Django's
    # DATA_UPLOAD_MAX_MEMORY_SIZE (5 MB, meant for forms and JSON), below our limit.
    raw = request.read(MAX_INBOUND_BYTES + 1)
    if len(raw) > MAX_INBOUND_BYTES:
        return JsonResponse({"error": "message too large"}, status=413)
    try:
        result = ingest_email(tenant=tenant, raw=raw, source=SuspendedEmail.Source.GATEWAY)
    except STORAGE_UNAVAILABLE:
        logger.exception("Inbound email for %s could not be stored", tenant.slug)
        response = JsonResponse(
            {"error": "the message could not be stored; deliver it again later"}, status=503
        )
        response["Retry-After"] = str(RETRY_AFTER)
        return response
    return JsonResponse(result.as_json())

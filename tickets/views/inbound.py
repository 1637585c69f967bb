import hmac

from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from tickets.inbound import MAX_INBOUND_BYTES, ingest_email


@csrf_exempt
@require_POST
def inbound_email(request):
    """POST a raw RFC 822 message (the request body) from a mail gateway.

    Authenticated by the tenant's inbound secret in `X-Inbound-Secret`; the host
    names the tenant, as for every other request.
    """
    tenant = request.tenant
    if tenant is None:
        return JsonResponse({"error": "unknown host"}, status=404)
    secret = request.headers.get("X-Inbound-Secret", "")
    if not hmac.compare_digest(secret.encode(), tenant.inbound_email_secret.encode()):
        return JsonResponse({"error": "invalid inbound secret"}, status=403)
    if int(request.headers.get("Content-Length") or 0) > MAX_INBOUND_BYTES:
        return JsonResponse({"error": "message too large"}, status=413)
    result = ingest_email(tenant=tenant, raw=request.body)
    status = 422 if result.action == "rejected" else 200
    return JsonResponse(
        {"action": result.action, "ticket": result.ticket_number, "reason": result.reason},
        status=status,
    )

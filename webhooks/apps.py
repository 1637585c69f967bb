from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WebhooksConfig(AppConfig):
    name = "webhooks"
    verbose_name = _("Webhooks")

    def ready(self):
        from helpdesk.cache import forget_when_changed
        from webhooks.models import WebhookEndpoint
        from webhooks.services import forget_endpoints

        # Every ticket change asks which endpoints want it (webhooks.services._wanted).
        forget_when_changed(forget_endpoints, [WebhookEndpoint], name="webhook-endpoints")

    def demo_data(self, tenant):
        from webhooks.demo import seed_webhooks

        seed_webhooks(tenant)

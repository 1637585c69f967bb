from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RoutingConfig(AppConfig):
    name = "routing"
    verbose_name = _("Routing")

    def ready(self):
        from helpdesk.cache import forget_when_changed
        from routing.models import RoutingRule
        from routing.services import forget_rules
        from tickets.models import Group

        # Creations keep each desk's rules in the cache (routing.services.active_rules).
        forget_when_changed(
            forget_rules,
            [RoutingRule, Group],
            name="routing-rules",
            through=[
                getattr(RoutingRule, f).through for f in ("categories", "plans", "organizations")
            ],
        )

    def demo_data(self, tenant):
        from routing.demo import seed_routing

        seed_routing(tenant)

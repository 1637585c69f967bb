from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RoutingConfig(AppConfig):
    name = "routing"
    verbose_name = _("Routing")

    def demo_data(self, tenant):
        from routing.demo import seed_routing

        seed_routing(tenant)

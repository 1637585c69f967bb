from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SuccessConfig(AppConfig):
    name = "success"
    verbose_name = _("Customer success")

    def demo_data(self, tenant):
        from success.demo import seed_health, seed_touchpoints

        seed_health(tenant)
        seed_touchpoints(tenant)

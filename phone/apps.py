from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PhoneConfig(AppConfig):
    name = "phone"
    verbose_name = _("Phone")

    def demo_data(self, tenant):
        from phone.demo import seed_phone

        seed_phone(tenant)

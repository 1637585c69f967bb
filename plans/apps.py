from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PlansConfig(AppConfig):
    name = "plans"
    verbose_name = _("Plans and organizations")

    # What the core asks of the apps (helpdesk/contributions.py).

    def tenant_defaults(self, tenant):
        from plans.services import plan_create_defaults

        plan_create_defaults(tenant=tenant)

    def organization_for_email(self, email):
        from plans.selectors import organization_for_email

        return organization_for_email(email)

    def demo_data(self, tenant):
        from plans.demo import seed_organizations

        seed_organizations(tenant)

    def demo_logins(self):
        from plans.demo import customer_logins

        return customer_logins()

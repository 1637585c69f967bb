from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TicketsConfig(AppConfig):
    name = "tickets"
    verbose_name = _("Tickets")

    def ready(self) -> None:
        from tickets import signals

        signals.connect()

    # What the core asks of the apps (helpdesk/contributions.py).

    def tenant_defaults(self, tenant):
        from tickets.services import category_create_defaults

        category_create_defaults(tenant=tenant)

    def demo_data(self, tenant):
        from tickets.demo import seed_macros, seed_tickets

        seed_macros(tenant)
        seed_tickets(tenant)

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SlaConfig(AppConfig):
    name = "sla"
    verbose_name = _("Service levels")

    def ready(self):
        from helpdesk.cache import forget_when_changed
        from plans.models import Plan
        from sla.models import BusinessCalendar, CalendarDate, SLAPolicy, WorkingHours
        from sla.selectors import forget_policy_book

        # The cached policy book (sla.selectors) holds these; any edit drops it.
        forget_when_changed(
            forget_policy_book,
            [SLAPolicy, BusinessCalendar, WorkingHours, CalendarDate, Plan],
            name="sla-book",
        )

    def tenant_defaults(self, tenant):
        """Office hours, a 24x7 calendar and a policy per plan (helpdesk/contributions.py)."""
        from sla.services import sla_create_defaults

        sla_create_defaults(tenant=tenant)

from django.apps import AppConfig
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.utils.translation import gettext_lazy as _


def _forget_book(sender, instance, **kwargs):
    from sla.selectors import forget_policy_book

    tenant_id = instance.tenant_id
    forget_policy_book(tenant_id)
    # Again after commit: a request that reloaded the book meanwhile read old rows.
    transaction.on_commit(lambda: forget_policy_book(tenant_id))


class SlaConfig(AppConfig):
    name = "sla"
    verbose_name = _("Service levels")

    def ready(self):
        from plans.models import Plan
        from sla.models import BusinessCalendar, CalendarDate, SLAPolicy, WorkingHours

        # The cached policy book (sla.selectors) holds these; any edit drops it.
        for model in (SLAPolicy, BusinessCalendar, WorkingHours, CalendarDate, Plan):
            post_save.connect(_forget_book, sender=model, dispatch_uid=f"sla-book-{model.__name__}")
            post_delete.connect(
                _forget_book, sender=model, dispatch_uid=f"sla-book-del-{model.__name__}"
            )

    def tenant_defaults(self, tenant):
        """Office hours, a 24x7 calendar and a policy per plan (helpdesk/contributions.py)."""
        from sla.services import sla_create_defaults

        sla_create_defaults(tenant=tenant)

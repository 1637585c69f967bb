from django.apps import AppConfig
from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.utils.translation import gettext_lazy as _


def _forget_rules(sender, instance, **kwargs):
    from routing.services import forget_rules

    tenant_id = instance.tenant_id
    forget_rules(tenant_id)
    # Again after commit: a creation that reloaded them meanwhile read the old rows.
    transaction.on_commit(lambda: forget_rules(tenant_id))


class RoutingConfig(AppConfig):
    name = "routing"
    verbose_name = _("Routing")

    def ready(self):
        from routing.models import RoutingRule
        from tickets.models import Group

        # Creations keep each desk's rules in the cache (routing.services.active_rules).
        for model in (RoutingRule, Group):
            post_save.connect(_forget_rules, sender=model, dispatch_uid=f"routing-{model}")
            post_delete.connect(_forget_rules, sender=model, dispatch_uid=f"routing-del-{model}")
        for field in ("categories", "plans", "organizations"):
            through = getattr(RoutingRule, field).through
            m2m_changed.connect(_forget_rules, sender=through, dispatch_uid=f"routing-{field}")

    def demo_data(self, tenant):
        from routing.demo import seed_routing

        seed_routing(tenant)

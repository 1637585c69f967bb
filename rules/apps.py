from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RulesConfig(AppConfig):
    name = "rules"
    verbose_name = _("Triggers and automations")

    def ready(self):
        from helpdesk.cache import forget_when_changed
        from rules.models import Action, Condition, Rule
        from rules.services import forget_rules

        # Ticket events read each desk's rules from the cache (rules.services.active_rules);
        # the admin's Trigger and Automation are proxies of Rule, heard as well.
        forget_when_changed(forget_rules, [Rule, Condition, Action], name="rules")

    def demo_data(self, tenant):
        from rules.demo import seed_rules

        seed_rules(tenant)

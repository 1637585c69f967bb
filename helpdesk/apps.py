from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps
from django.utils.module_loading import autodiscover_modules
from django.utils.translation import gettext_lazy as _


class HelpdeskConfig(AppConfig):
    default = True
    name = "helpdesk"
    verbose_name = _("Help desk")

    def ready(self):
        from allauth.mfa.signals import authenticator_added

        from helpdesk import db_pool
        from helpdesk.second_factor import record_first_enrolment

        db_pool.install()
        authenticator_added.connect(record_first_enrolment, dispatch_uid="record_first_enrolment")
        # Each app's domain-event subscribers (helpdesk/events.py), in every process:
        # web, worker, beat and management commands alike.
        autodiscover_modules("subscribers")


class HelpdeskAdminConfig(admin_apps.AdminConfig):
    default = False
    default_site = "helpdesk.admin_site.HelpdeskAdminSite"

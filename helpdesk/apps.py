from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps
from django.utils.translation import gettext_lazy as _


class HelpdeskConfig(AppConfig):
    default = True
    name = "helpdesk"
    verbose_name = _("Help desk")

    def ready(self):
        from helpdesk import db_pool

        db_pool.install()


class HelpdeskAdminConfig(admin_apps.AdminConfig):
    default = False
    default_site = "helpdesk.admin_site.HelpdeskAdminSite"

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FeedbackConfig(AppConfig):
    name = "feedback"
    verbose_name = _("Feedback")

    def demo_data(self, tenant):
        from feedback.demo import seed_feedback

        seed_feedback(tenant)

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class KnowledgeConfig(AppConfig):
    name = "knowledge"
    verbose_name = _("Knowledge base")

    def ready(self):
        from helpdesk.cache import forget_when_changed
        from knowledge.models import SearchSynonym
        from knowledge.search import forget_synonyms

        # Searches keep each desk's synonyms in memory (knowledge.search.synonyms).
        forget_when_changed(forget_synonyms, [SearchSynonym], name="kb-synonyms")

    def demo_data(self, tenant):
        from knowledge.demo import load_articles

        load_articles(tenant, demo_only=True)

from django.apps import AppConfig
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.utils.translation import gettext_lazy as _


def _forget_synonyms(sender, instance, **kwargs):
    from knowledge.search import forget_synonyms

    tenant_id = instance.tenant_id
    forget_synonyms(tenant_id)
    # Again after commit: a search that reloaded them meanwhile read the old rows.
    transaction.on_commit(lambda: forget_synonyms(tenant_id))


class KnowledgeConfig(AppConfig):
    name = "knowledge"
    verbose_name = _("Knowledge base")

    def ready(self):
        from knowledge.models import SearchSynonym

        # Searches keep each desk's synonyms in memory (knowledge.search.synonyms).
        post_save.connect(_forget_synonyms, sender=SearchSynonym, dispatch_uid="kb-synonyms")
        post_delete.connect(_forget_synonyms, sender=SearchSynonym, dispatch_uid="kb-synonyms-del")

    def demo_data(self, tenant):
        from knowledge.demo import load_articles

        load_articles(tenant, demo_only=True)

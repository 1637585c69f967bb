"""Tenant data in two languages: a name in English and, optionally, in Chinese.

Categories (of tickets and of the knowledge base), knowledge-base sections, macros and
business calendars are named by each desk. Their admin forms have the English name and
an optional Chinese one next to it; a reader whose page is in Chinese sees the Chinese
name, and the English one when there is none (docs/languages.md).
"""

from django.db import models
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _


def localized_name(name: str, name_zh_hans: str) -> str:
    """The name in the active language: the Chinese one in a Chinese page, when given."""
    if name_zh_hans and (get_language() or "").startswith("zh"):
        return name_zh_hans
    return name


class LocalizedName(models.Model):
    """A name in English and, optionally, in Chinese; readers see theirs."""

    name = models.CharField(_("name"), max_length=100)
    name_zh_hans = models.CharField(
        _("name in Chinese"),
        max_length=100,
        blank=True,
        help_text=_("Shown to people who read the desk in Chinese; empty: the name above."),
    )

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        return localized_name(self.name, self.name_zh_hans)

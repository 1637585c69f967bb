"""Routing rules: which group a new ticket goes to (routing/services.py applies them)."""

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils.translation import gettext_lazy as _

from helpdesk.models import TenantOwned
from plans.models import Organization, Plan
from tickets.models import Category, Channel, Group, Priority


class RoutingRule(TenantOwned):
    """Conditions on a new ticket, and the group it goes to. Rules are tried in order
    of position; the first whose every filled-in condition matches wins. An empty
    condition matches anything; within one condition any listed value matches."""

    name = models.CharField(_("name"), max_length=100)
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    is_active = models.BooleanField(_("active"), default=True)
    categories = models.ManyToManyField(Category, blank=True, verbose_name=_("categories"))
    priorities = ArrayField(
        models.PositiveSmallIntegerField(choices=Priority.choices),
        default=list,
        blank=True,
        verbose_name=_("priorities"),
    )
    plans = models.ManyToManyField(Plan, blank=True, verbose_name=_("plans"))
    organizations = models.ManyToManyField(
        Organization, blank=True, verbose_name=_("organizations")
    )
    channels = ArrayField(
        models.CharField(max_length=10, choices=Channel.choices),
        default=list,
        blank=True,
        verbose_name=_("channels"),
    )
    languages = ArrayField(
        models.CharField(max_length=10, choices=settings.LANGUAGES),
        default=list,
        blank=True,
        verbose_name=_("customer's languages"),
    )
    tags = ArrayField(
        models.CharField(max_length=50),
        default=list,
        blank=True,
        verbose_name=_("tags"),
        help_text=_("Any of these tags. Separate them with commas."),
    )
    words = ArrayField(
        models.CharField(max_length=100),
        default=list,
        blank=True,
        verbose_name=_("words in the subject or description"),
        help_text=_("Any of these words or phrases, in any case. Separate them with commas."),
    )
    group = models.ForeignKey(
        Group, on_delete=models.CASCADE, related_name="routing_rules", verbose_name=_("group")
    )

    class Meta:
        verbose_name = _("routing rule")
        verbose_name_plural = _("routing rules")
        ordering = ["position", "pk"]

    def __str__(self) -> str:
        return self.name

"""Signal receivers that keep the cached desk lists current (tickets.selectors.desk_lists).

Every save and delete of a category, plan, macro, group or membership changes its tenant's
lists (a membership decides who is staff); a change to a user's name or email
changes the staff lists of every tenant they work in.
"""

from django.db.models.signals import post_delete, post_save

from helpdesk.models import Membership, User
from helpdesk.read_cache import source_changed, tenant_source
from plans.models import Plan
from tickets.models import Category, Group, Macro
from tickets.selectors import DESK_LISTS, USERS

DESK_LIST_MODELS = (Category, Plan, Macro, Membership, Group)
SHOWN_USER_FIELDS = frozenset({"full_name", "email"})


def desk_list_changed(sender, instance, **kwargs) -> None:
    source_changed(tenant_source(instance.tenant_id, DESK_LISTS))


def user_changed(sender, instance, created=False, update_fields=None, **kwargs) -> None:
    # A new user has no membership yet, and a login saves only last_login.
    if created or (update_fields is not None and not SHOWN_USER_FIELDS & set(update_fields)):
        return
    source_changed(USERS)


def connect() -> None:
    for model in DESK_LIST_MODELS:
        post_save.connect(desk_list_changed, sender=model, dispatch_uid=f"desk_lists_save_{model}")
        post_delete.connect(
            desk_list_changed, sender=model, dispatch_uid=f"desk_lists_delete_{model}"
        )
    post_save.connect(user_changed, sender=User, dispatch_uid="desk_lists_user_save")
    post_delete.connect(user_changed, sender=User, dispatch_uid="desk_lists_user_delete")

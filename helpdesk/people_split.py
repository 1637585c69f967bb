"""Moving from one global identity per email to people who belong to one desk.

Used once, by migration helpdesk 0006: before it, a person could be a member of several
desks with one account. Each such person keeps their account at the desk they joined
first and gets a copy of it (same email, password hash, name, language) at each other
desk, and everything a desk's rows say of them (tickets, messages, memberships, tokens,
surveys, tasks...) moves to that desk's copy. Nothing is merged or lost; sessions of
the moved people end (they sign in again on each desk).

It takes the app registry the migration hands it, and reads every model with a foreign
key to the user model generically, so a model added later needs no change here.
"""

from __future__ import annotations

from typing import Any

COPIED_FIELDS = (
    "email",
    "password",
    "full_name",
    "preferred_language",
    "is_active",
    "date_joined",
    "last_login",
)


def _rows_pointing_at_people(apps: Any, user_model: Any) -> list[tuple[Any, str]]:
    """(model, field name) of every desk-owned model's foreign key to a person."""
    found = []
    for model in apps.get_models():
        field_names = {f.name for f in model._meta.get_fields()}
        if model is user_model or "tenant" not in field_names:
            continue
        for field in model._meta.get_fields():
            if field.many_to_one and field.concrete and field.related_model is user_model:
                found.append((model, field.name))
    return found


def split_people_by_desk(apps: Any, schema_editor: Any = None) -> int:
    """Give every member a desk, copying people who belong to several; returns the copies made."""
    user_model = apps.get_model("helpdesk", "User")
    membership_model = apps.get_model("helpdesk", "Membership")
    email_model = apps.get_model("account", "EmailAddress")
    pointing = _rows_pointing_at_people(apps, user_model)
    users = user_model._base_manager
    memberships = membership_model._base_manager
    copies = 0
    for user in users.filter(tenant__isnull=True).order_by("pk"):
        desks = list(
            dict.fromkeys(
                memberships.filter(user=user)
                .order_by("created_at", "pk")
                .values_list("tenant_id", flat=True)
            )
        )
        if not desks:
            continue  # a platform operator, or nobody's member: no desk
        first, *others = desks
        users.filter(pk=user.pk).update(tenant_id=first)
        addresses = list(email_model._base_manager.filter(user=user))
        for desk in others:
            copy = users.create(
                tenant_id=desk, **{name: getattr(user, name) for name in COPIED_FIELDS}
            )
            email_model._base_manager.bulk_create(
                email_model(
                    user=copy,
                    email=address.email,
                    verified=address.verified,
                    primary=address.primary,
                )
                for address in addresses
            )
            for model, field in pointing:
                model._base_manager.filter(tenant_id=desk, **{field: user}).update(**{field: copy})
            copies += 1
    return copies

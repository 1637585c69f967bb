"""Rules for tests, written as admins type them (rules/conditions.py reads the words)."""

from rules.actions import clean_action
from rules.conditions import parse_value
from rules.models import Action, Automation, Condition, Trigger


def make_trigger(desk, name, conditions, actions, *, runs_on="both", position=0, any_of=()):
    fields = {"runs_on": runs_on, "position": position}
    return _make(Trigger, desk, name, conditions, actions, any_of, **fields)


def make_automation(desk, name, conditions, actions, *, position=0, any_of=()):
    return _make(Automation, desk, name, conditions, actions, any_of, position=position)


def _make(model, desk, name, conditions, actions, any_of, **fields):
    """`conditions`: (field, operator, value in words); `actions`: (kind, value) or
    (kind, value, {"subject": ..., "body": ...})."""
    with desk.scope():
        rule = model.objects.create(tenant=desk.tenant, name=name, **fields)
        for match, rows in (("all", conditions), ("any", any_of)):
            for field, op, *value in rows:
                Condition.objects.create(
                    tenant=desk.tenant,
                    rule=rule,
                    match=match,
                    field=field,
                    operator=op,
                    value=parse_value(field, op, value[0] if value else ""),
                )
        for kind, value, *text in actions:
            text = text[0] if text else {}
            Action.objects.create(
                tenant=desk.tenant,
                rule=rule,
                kind=kind,
                value=clean_action(kind, value, text.get("subject", ""), text.get("body", "")),
                **text,
            )
    return rule

"""Live chat is in the help center now: the default plans' chat details, which said so
before it existed, would repeat it beside the chat link."""

from django.db import migrations

OLD_DEFAULT = "1:1 chat with your support engineer from the help center"


def clear_old_default(apps, schema_editor):
    Plan = apps.get_model("plans", "Plan")
    Plan.objects.filter(chat_details=OLD_DEFAULT).update(chat_details="")


class Migration(migrations.Migration):
    dependencies = [("plans", "0004_plan_texts_upgrades_settings")]

    operations = [migrations.RunPython(clear_old_default, migrations.RunPython.noop)]

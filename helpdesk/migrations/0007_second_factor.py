"""Two-factor sign-in: the desk's setting, and platform operators signing in through allauth.

Old rows: every desk starts with `require_staff_mfa` off, so nobody is asked for anything
new. Operators made by `createsuperuser` before this migration signed in through Django's
admin login and have no allauth address; allauth (with mandatory verification) would
first email them a confirmation link, so their address, already trusted for signing in,
is recorded as verified, as `User.objects.create_superuser` now does.
"""

from django.db import migrations, models


def verify_operators_addresses(apps, schema_editor):
    User = apps.get_model("helpdesk", "User")
    EmailAddress = apps.get_model("account", "EmailAddress")
    for operator in User.objects.filter(tenant=None, is_superuser=True):
        if not EmailAddress.objects.filter(user=operator).exists():
            EmailAddress.objects.create(
                user=operator, email=operator.email, verified=True, primary=True
            )


class Migration(migrations.Migration):
    dependencies = [
        ("account", "0009_emailaddress_unique_primary_email"),
        ("helpdesk", "0006_people_belong_to_desks"),
    ]

    operations = [
        migrations.AddField(
            model_name="tenant",
            name="require_staff_mfa",
            field=models.BooleanField(
                default=False,
                help_text=(
                    "Agents and admins without an authenticator app or a security key are "
                    "sent to set one up before they can use anything else, and must pass it "
                    "each time they sign in; their API tokens are refused until they have "
                    "one. Customers may use two-factor sign-in but are never required to."
                ),
                verbose_name="require two-factor sign-in for agents and admins",
            ),
        ),
        migrations.RunPython(verify_operators_addresses, migrations.RunPython.noop),
    ]

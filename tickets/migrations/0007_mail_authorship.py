"""Who wrote a mail: reply tokens per recipient, and what a message that came by mail
proved of its sender (docs/email.md, "Who wrote it").

Every column added to messages is empty or null for the rows already there (instant on
PostgreSQL 16): mail received before this shows no verdict. Tickets keep their own
reply token, in the emails already sent; it still threads, proving nothing.
"""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('helpdesk', '0005_outbox_and_cache_fallback'),
        ('tickets', '0006_email_threads_and_suspended_mail'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='message',
            name='email_authentication',
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.AddField(
            model_name='message',
            name='email_from',
            field=models.CharField(blank=True, max_length=320),
        ),
        migrations.AddField(
            model_name='message',
            name='review_key',
            field=models.UUIDField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name='message',
            name='reviewed_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='message',
            name='reviewed_by',
            field=models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddField(
            model_name='message',
            name='sender_check',
            field=models.CharField(blank=True, choices=[('verified', 'Verified sender'), ('unconfirmed', 'Sender not confirmed'), ('unverified', 'Unverified')], max_length=12),
        ),
        migrations.AddField(
            model_name='message',
            name='sender_evidence',
            field=models.CharField(blank=True, choices=[('own_token', 'sent to their own reply address'), ('dmarc_pass', 'DMARC pass'), ('no_proof', 'no reply address, no DMARC result'), ('dmarc_fail', 'DMARC fail'), ('others_token', "sent to someone else's reply address"), ('no_token', 'not sent to their own reply address'), ('stranger', 'not a member of this desk'), ('no_access', 'the sender cannot see this ticket')], max_length=20),
        ),
        migrations.AlterField(
            model_name='suspendedemail',
            name='reason',
            field=models.CharField(choices=[('unparseable', 'Could not be read'), ('unknown_sender', 'Unknown sender'), ('rejected', 'Rejected'), ('failed', 'Processing failed'), ('too_large', 'Too large'), ('dmarc_fail', 'Sender failed DMARC')], max_length=20, verbose_name='reason'),
        ),
        migrations.AlterField(
            model_name='ticketevent',
            name='kind',
            field=models.CharField(choices=[('created', 'created the ticket'), ('status', 'changed the status'), ('priority', 'changed the priority'), ('category', 'changed the category'), ('assignee', 'changed the assignee'), ('tags', 'changed the tags'), ('reopened', 'reopened the ticket'), ('merged', 'merged tickets'), ('macro', 'applied a macro'), ('sla', 'service level'), ('unverified_mail', 'received mail from an unconfirmed sender'), ('mail_published', "published unverified mail as the customer's reply"), ('mail_kept', 'kept unverified mail as an internal note')], max_length=20),
        ),
        migrations.CreateModel(
            name='ReplyToken',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('digest', models.CharField(max_length=64)),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now, editable=False)),
                ('tenant', models.ForeignKey(editable=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='helpdesk.tenant')),
                ('ticket', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='tickets.ticket')),
                ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'constraints': [models.UniqueConstraint(fields=('tenant', 'digest'), name='replytoken_tenant_digest')],
            },
        ),
    ]

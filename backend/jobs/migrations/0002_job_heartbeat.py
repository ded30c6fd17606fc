from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('jobs', '0001_initial'),
    ]

    operations = [
        migrations.AddField(
            model_name='job',
            name='heartbeat',
            field=models.DateTimeField(blank=True, help_text='last sign of life from the worker running it (see backend.jobs.lease)', null=True),
        ),
    ]

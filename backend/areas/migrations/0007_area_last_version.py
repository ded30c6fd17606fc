from django.db import migrations, models
from django.db.models import Max


def remember_published_versions(apps, schema_editor):
    """Existing areas: the highest version they published so far."""
    Area = apps.get_model("areas", "Area")
    for area in Area.objects.annotate(highest=Max("publications__version")).exclude(highest=None):
        Area.objects.filter(pk=area.pk).update(last_version=area.highest)


class Migration(migrations.Migration):

    dependencies = [
        ("areas", "0006_staged_upload"),
    ]

    operations = [
        migrations.AddField(
            model_name="area",
            name="last_version",
            field=models.PositiveIntegerField(
                default=0,
                help_text="the highest version number published; a deleted version's number is never reused",
            ),
        ),
        migrations.RunPython(remember_published_versions, migrations.RunPython.noop),
    ]

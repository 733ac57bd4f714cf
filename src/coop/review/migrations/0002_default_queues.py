from django.db import migrations


def create_default_queues(apps, schema_editor):
    Queue = apps.get_model("review", "Queue")
    if not Queue.objects.filter(is_default=True, is_appeals=False).exists():
        Queue.objects.create(id="default", name="Default", is_default=True)
    if not Queue.objects.filter(is_default=True, is_appeals=True).exists():
        Queue.objects.create(id="appeals", name="Appeals", is_default=True, is_appeals=True)


def remove_default_queues(apps, schema_editor):
    Queue = apps.get_model("review", "Queue")
    Queue.objects.filter(id__in=["default", "appeals"], jobs__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("review", "0001_initial")]
    operations = [migrations.RunPython(create_default_queues, remove_default_queues)]

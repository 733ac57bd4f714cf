from django.db import migrations

from coop.accounts.permissions import PREDEFINED_ROLES


def create_roles(apps, schema_editor):
    Role = apps.get_model("accounts", "Role")
    for name, permissions in PREDEFINED_ROLES.items():
        Role.objects.update_or_create(
            name=name, defaults={"permissions": sorted(permissions), "predefined": True}
        )


def remove_roles(apps, schema_editor):
    Role = apps.get_model("accounts", "Role")
    Role.objects.filter(predefined=True, users__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_initial")]
    operations = [migrations.RunPython(create_roles, remove_roles)]

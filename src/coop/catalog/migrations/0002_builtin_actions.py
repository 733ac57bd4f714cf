from django.db import migrations

from coop.catalog.builtins import BUILTIN_ACTIONS


def create_builtin_actions(apps, schema_editor):
    Action = apps.get_model("catalog", "Action")
    for action_id, (name, description) in BUILTIN_ACTIONS.items():
        Action.objects.update_or_create(
            id=action_id, defaults={"name": name, "description": description, "builtin": True}
        )


def remove_builtin_actions(apps, schema_editor):
    apps.get_model("catalog", "Action").objects.filter(id__in=list(BUILTIN_ACTIONS)).delete()


class Migration(migrations.Migration):
    dependencies = [("catalog", "0001_initial")]
    operations = [migrations.RunPython(create_builtin_actions, remove_builtin_actions)]

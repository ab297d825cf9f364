"""The `Cinema staff` group: what staff need to run the schedule, without superuser powers."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

GROUP = "Cinema staff"
# model -> actions the group may take on it
PERMISSIONS = {
    "movie": ("view", "add", "change", "delete"),
    "cinema": ("view", "add", "change", "delete"),
    "screen": ("view", "add", "change", "delete"),
    "screenrow": ("view", "add", "change", "delete"),
    "show": ("view", "add", "change", "delete"),
    "seat": ("view",),
    "booking": ("view", "change"),  # change = cancel; bookings are never edited or deleted
    "hold": ("view", "change"),  # change = release
}


def create_group(apps, schema_editor):
    # On an empty database the permissions are only created after every migration has
    # run (post_migrate); create this app's now so that the group can have them.
    app_config = apps.get_app_config("booking")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name=GROUP)
    codenames = [
        f"{action}_{model}" for model, actions in PERMISSIONS.items() for action in actions
    ]
    group.permissions.add(
        *Permission.objects.filter(content_type__app_label="booking", codename__in=codenames)
    )


def delete_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name=GROUP).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("booking", "0003_holds"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_group, delete_group)]

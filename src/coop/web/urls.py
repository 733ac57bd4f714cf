from django.urls import path

from coop.web.views import api_keys, auth, console, ncmec_settings, queue_admin, wellness

urlpatterns = [
    path("", console.overview, name="overview"),
    path("login", auth.login_view, name="login"),
    path("logout", auth.logout_view, name="logout"),
    path("settings/", console.settings_index, name="settings"),
    path("settings/api-keys", api_keys.api_keys, name="settings-api-keys"),
    path(
        "settings/api-keys/<uuid:key_id>/revoke",
        api_keys.revoke_key,
        name="settings-api-key-revoke",
    ),
    path("settings/api-keys/rotate", api_keys.rotate_key, name="settings-signing-key-rotate"),
    path("queues/new", queue_admin.queue_form, name="queue-create"),
    path("queues/<str:queue_id>/edit", queue_admin.queue_form, name="queue-edit"),
    path("queues/<str:queue_id>/delete", queue_admin.queue_delete, name="queue-delete"),
    path("settings/wellness", wellness.settings_wellness, name="settings-wellness"),
    path("settings/ncmec", ncmec_settings.settings_ncmec, name="settings-ncmec"),
    path("account", wellness.account, name="account"),
    path(
        "settings/api-keys/public-key.pem",
        api_keys.public_key_pem,
        name="settings-signing-key-pem",
    ),
]

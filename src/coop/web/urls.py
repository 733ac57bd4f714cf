from django.urls import path

from coop.web.views import (
    api_keys,
    auth,
    console,
    history,
    queue_admin,
    settings_pages,
    signing_key,
    wellness,
)

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
    path("queues/new", queue_admin.queue_form, name="queue-create"),
    path("queues/<str:queue_id>/edit", queue_admin.queue_form, name="queue-edit"),
    path("queues/<str:queue_id>/delete", queue_admin.queue_delete, name="queue-delete"),
    path("settings/wellness", wellness.settings_wellness, name="settings-wellness"),
    path("account", wellness.account, name="account"),
    path("settings/organization", settings_pages.organization, name="settings-organization"),
    path("settings/review", settings_pages.review, name="settings-review"),
    path("settings/appeals", settings_pages.appeals, name="settings-appeals"),
    path("settings/strikes", settings_pages.strikes, name="settings-strikes"),
    path("settings/partial-items", settings_pages.partial_items, name="settings-partial-items"),
    path("settings/signing-key", signing_key.signing_key, name="settings-signing-key"),
    path("settings/signing-key/rotate", signing_key.rotate, name="settings-signing-key-rotate"),
    path(
        "settings/signing-key/public-key.pem",
        signing_key.public_key_pem,
        name="settings-signing-key-pem",
    ),
    path("settings/history", history.history, name="settings-history"),
    path("settings/history/<int:change_id>", history.change, name="settings-history-change"),
]

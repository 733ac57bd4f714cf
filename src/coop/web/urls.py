from django.urls import path

from coop.web.views import api_keys, auth, banks, console, queue_admin, wellness

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
    path("banks", banks.bank_list, name="banks"),
    path("banks/new", banks.bank_create, name="bank-create"),
    path("banks/hma/test", banks.hma_test, name="banks-hma-test"),
    path(
        "banks/hma/removals/<int:state_id>/retry",
        banks.hma_removal_retry,
        name="bank-hma-removal-retry",
    ),
    path("banks/<str:bank_id>", banks.bank_detail, name="bank"),
    path("banks/<str:bank_id>/import", banks.bank_import, name="bank-import"),
    path("banks/<str:bank_id>/image", banks.bank_image, name="bank-image"),
    path("banks/<str:bank_id>/delete", banks.bank_delete, name="bank-delete"),
    path("banks/<str:bank_id>/hma/sync", banks.bank_hma_sync, name="bank-hma-sync"),
    path("banks/<str:bank_id>/exchange", banks.bank_exchange, name="bank-exchange"),
    path(
        "banks/<str:bank_id>/exchange/detach",
        banks.bank_exchange_detach,
        name="bank-exchange-detach",
    ),
    path(
        "banks/<str:bank_id>/exchange/refresh",
        banks.bank_exchange_refresh,
        name="bank-exchange-refresh",
    ),
    path("settings/wellness", wellness.settings_wellness, name="settings-wellness"),
    path("account", wellness.account, name="account"),
    path(
        "settings/api-keys/public-key.pem",
        api_keys.public_key_pem,
        name="settings-signing-key-pem",
    ),
]

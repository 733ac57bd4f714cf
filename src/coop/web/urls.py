from django.urls import path

from coop.web.views import api_keys, auth, console, passwords, queue_admin, roles, users, wellness

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
    path("account", wellness.account, name="account"),
    path(
        "settings/api-keys/public-key.pem",
        api_keys.public_key_pem,
        name="settings-signing-key-pem",
    ),
    path("password-reset", passwords.forgot_password, name="password-reset"),
    path(
        "password-reset/<str:token>",
        passwords.reset_password,
        name="password-reset-confirm",
    ),
    path("invite/<str:token>", users.accept_invite, name="accept-invite"),
    path("account/password", passwords.change_password, name="account-password"),
    path("settings/users", users.users_page, name="settings-users"),
    path("settings/users/invite", users.invite, name="settings-users-invite"),
    path(
        "settings/users/invites/<int:invite_id>/resend",
        users.resend_invite,
        name="settings-invite-resend",
    ),
    path(
        "settings/users/invites/<int:invite_id>/revoke",
        users.revoke_invite,
        name="settings-invite-revoke",
    ),
    path("settings/users/<int:user_id>/role", users.change_role, name="settings-user-role"),
    path(
        "settings/users/<int:user_id>/deactivate",
        users.deactivate,
        name="settings-user-deactivate",
    ),
    path(
        "settings/users/<int:user_id>/reactivate",
        users.reactivate,
        name="settings-user-reactivate",
    ),
    path(
        "settings/users/<int:user_id>/password-reset",
        users.send_reset,
        name="settings-user-password-reset",
    ),
    path("settings/roles", roles.roles_page, name="settings-roles"),
    path("settings/roles/new", roles.create_role, name="settings-role-create"),
    path("settings/roles/<int:role_id>/rename", roles.rename_role, name="settings-role-rename"),
    path("settings/roles/<int:role_id>/delete", roles.delete_role, name="settings-role-delete"),
    path(
        "settings/roles/<int:role_id>/restore",
        roles.restore_role,
        name="settings-role-restore",
    ),
]

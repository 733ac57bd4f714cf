"""Forms of the user, role and password pages. They parse; the rules are the services' (
coop.accounts.invites, passwords, roles, users), whose errors `add_account_error` puts on the
field they name."""

from __future__ import annotations

from django import forms
from django.contrib.auth.password_validation import password_validators_help_texts

from coop.accounts.models import Role
from coop.accounts.roles import ROLE_NAME_MAX
from coop.accounts.services import AccountError


def rules_help() -> str:
    """The password rules, from the validators that enforce them (AUTH_PASSWORD_VALIDATORS)."""
    return " ".join(password_validators_help_texts())


def add_account_error(form: forms.Form, error: AccountError) -> None:
    """Put a service's error on the field it names (or on the form when it names none)."""
    field = error.field if error.field in form.fields else None
    form.add_error(field, str(error))


def _password(label: str, autocomplete: str, **kwargs) -> forms.CharField:
    return forms.CharField(
        label=label,
        strip=False,
        max_length=4096,  # argon2 hashes any length; this bounds the work
        widget=forms.PasswordInput(attrs={"autocomplete": autocomplete}),
        **kwargs,
    )


class _RepeatedPassword(forms.Form):
    new_password = _password("New password", "new-password", help_text=rules_help())
    new_password_repeat = _password("Repeat the new password", "new-password")

    def clean(self):
        data = super().clean()
        first, second = data.get("new_password"), data.get("new_password_repeat")
        if first and second and first != second:
            self.add_error("new_password_repeat", "The two passwords differ.")
        return data


class InviteForm(forms.Form):
    email = forms.EmailField(max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "off"}))
    # No preselected role: an invite as Admin is never one click away.
    role = forms.ModelChoiceField(queryset=Role.objects.none(), empty_label="Choose a role…")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["role"].queryset = Role.objects.all()


class RoleChoiceForm(forms.Form):
    role = forms.ModelChoiceField(queryset=Role.objects.none())

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["role"].queryset = Role.objects.all()


class AcceptInviteForm(_RepeatedPassword):
    name = forms.CharField(
        label="Your name", max_length=200, widget=forms.TextInput(attrs={"autocomplete": "name"})
    )
    new_password = _password("Password", "new-password", help_text=rules_help())
    new_password_repeat = _password("Repeat the password", "new-password")
    field_order = ["name", "new_password", "new_password_repeat"]


class ForgotPasswordForm(forms.Form):
    email = forms.EmailField(
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True}),
    )

    def clean_email(self) -> str:
        return self.cleaned_data["email"].strip().lower()


class SetPasswordForm(_RepeatedPassword):
    pass


class ChangePasswordForm(_RepeatedPassword):
    current_password = _password("Current password", "current-password")
    field_order = ["current_password", "new_password", "new_password_repeat"]


class RoleNameForm(forms.Form):
    name = forms.CharField(max_length=ROLE_NAME_MAX)


class NewRoleForm(RoleNameForm):
    start_from = forms.ModelChoiceField(
        queryset=Role.objects.none(),
        required=False,
        empty_label="No permissions",
        label="Start with the permissions of",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["start_from"].queryset = Role.objects.all()

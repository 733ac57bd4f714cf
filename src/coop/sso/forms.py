"""The three forms of Settings → SSO. Each is saved on its own; none saves anything unless
every field of it is valid (the metadata parsed, the issuer discovered)."""

from __future__ import annotations

import re

from django import forms
from django.core.validators import validate_domain_name

from coop.accounts.models import Role
from coop.catalog.credentials import describe_credential
from coop.sso import oidc, saml
from coop.sso.models import PasswordSignIn, SsoSettings

# RFC 6749 §3.3 scope-token characters; claim and attribute names are kept to printable text.
SCOPE_TOKEN = re.compile(r"^[\x21\x23-\x5b\x5d-\x7e]+$")
NAME = re.compile(r"^[\x21-\x7e]+$")
MAX_UPLOAD_BYTES = saml.MAX_METADATA_BYTES


class SamlForm(forms.Form):
    enabled = forms.BooleanField(required=False, label="Enable SAML sign-in")
    metadata = forms.CharField(
        required=False,
        label="IdP metadata XML",
        widget=forms.Textarea(attrs={"rows": 8, "spellcheck": "false", "class": "mono"}),
        help_text="Paste the identity provider's SAML metadata, or upload the file below.",
    )
    metadata_file = forms.FileField(required=False, label="…or upload the metadata file")
    email_attribute = forms.CharField(
        required=False,
        max_length=200,
        label="Email attribute",
        help_text="The attribute (Name or FriendlyName) that holds the email. "
        "Empty: use the assertion's NameID.",
    )
    label = forms.CharField(max_length=60, label="Button label")

    @classmethod
    def initial_for(cls, sso: SsoSettings) -> dict:
        return {
            "enabled": sso.saml_enabled,
            "metadata": sso.saml_metadata,
            "email_attribute": sso.saml_email_attribute,
            "label": sso.saml_label,
        }

    def clean_metadata_file(self) -> str | None:
        upload = self.cleaned_data.get("metadata_file")
        if not upload:
            return None
        if upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError(f"The file is larger than {MAX_UPLOAD_BYTES // 1024} KB.")
        try:
            return upload.read().decode("utf-8")
        except UnicodeDecodeError as exc:
            raise forms.ValidationError("The file is not UTF-8 text (an XML file).") from exc

    def clean_email_attribute(self) -> str:
        value = self.cleaned_data["email_attribute"].strip()
        if value and not NAME.match(value):
            raise forms.ValidationError("An attribute name has no spaces or control characters.")
        return value

    def clean(self):
        data = super().clean()
        from_file = data.get("metadata_file")
        field = "metadata_file" if from_file else "metadata"
        metadata = (from_file or data.get("metadata") or "").strip()
        data["metadata"] = metadata
        if self.errors:
            return data
        if data.get("enabled"):
            if not metadata:
                self.add_error("metadata", "Paste the IdP metadata (or upload its file) first.")
            problem = saml.xmlsec_problem()
            if problem:
                self.add_error("enabled", f"{problem[0].upper()}{problem[1:]}.")
        if metadata:
            try:
                saml.read_idp_metadata(metadata)
            except saml.MetadataError as exc:
                self.add_error(field, f"The IdP metadata {exc}.")
        return data


class OidcForm(forms.Form):
    enabled = forms.BooleanField(required=False, label="Enable OpenID Connect sign-in")
    issuer = forms.URLField(
        required=False,
        max_length=500,
        assume_scheme="https",
        label="Issuer URL",
        help_text="Coop reads <issuer>/.well-known/openid-configuration.",
    )
    client_id = forms.CharField(required=False, max_length=500, label="Client ID")
    client_secret = forms.CharField(
        required=False,
        max_length=2000,
        strip=False,
        label="Client secret",
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
    )
    email_claim = forms.CharField(max_length=100, label="Email claim")
    scopes = forms.CharField(max_length=500, label="Scopes")
    label = forms.CharField(max_length=60, label="Button label")

    def __init__(self, *args, sso: SsoSettings, **kwargs):
        super().__init__(*args, **kwargs)
        self.sso = sso
        stored = describe_credential(sso.oidc_client_secret)
        self.fields["client_secret"].help_text = (
            f"Currently {stored}. Leave empty to keep it."
            if sso.oidc_client_secret
            else "Write-only: it is stored encrypted and never shown again."
        )

    @classmethod
    def initial_for(cls, sso: SsoSettings) -> dict:
        return {
            "enabled": sso.oidc_enabled,
            "issuer": sso.oidc_issuer,
            "client_id": sso.oidc_client_id,
            "email_claim": sso.oidc_email_claim,
            "scopes": sso.oidc_scopes,
            "label": sso.oidc_label,
        }

    def clean_email_claim(self) -> str:
        value = self.cleaned_data["email_claim"].strip()
        if not NAME.match(value):
            raise forms.ValidationError("A claim name has no spaces or control characters.")
        return value

    def clean_scopes(self) -> str:
        scopes = self.cleaned_data["scopes"].split()
        bad = [scope for scope in scopes if not SCOPE_TOKEN.match(scope)]
        if bad:
            raise forms.ValidationError(f"{bad[0]!r} is not a valid scope.")
        if "openid" not in scopes:
            raise forms.ValidationError("The scopes must include openid.")
        return " ".join(dict.fromkeys(scopes))

    def clean_client_secret(self) -> str | None:
        return self.cleaned_data["client_secret"] or None  # None keeps the stored secret

    def clean(self):
        data = super().clean()
        if self.errors or not data.get("enabled"):
            return data
        for field, what in (("issuer", "the issuer URL"), ("client_id", "the client ID")):
            if not data.get(field):
                self.add_error(field, f"Enter {what} to enable OpenID Connect.")
        if not data.get("client_secret") and not self.sso.oidc_client_secret:
            self.add_error("client_secret", "Enter the client secret to enable OpenID Connect.")
        if data.get("issuer"):
            try:
                # The provider's own spelling (a trailing slash or not) is what tokens carry.
                data["issuer"] = oidc.discover(data["issuer"], fresh=True).issuer
            except oidc.ProviderError as exc:
                self.add_error("issuer", f"Discovery failed: {exc}.")
        return data


class SignInForm(forms.Form):
    password_sign_in = forms.ChoiceField(
        choices=PasswordSignIn.choices,
        widget=forms.RadioSelect,
        label="Password sign-in while SSO is enabled",
        help_text="Administrators are users whose role has MANAGE_ORG. "
        "With SSO off, everyone may use a password.",
    )
    jit_enabled = forms.BooleanField(
        required=False,
        label="Create accounts just in time",
        help_text="A person the IdP vouches for, without a Coop account, gets one at first "
        "sign-in. Off: they are asked to get an invite.",
    )
    jit_role = forms.ModelChoiceField(
        queryset=Role.objects.all(),
        required=False,
        empty_label="Choose a role",
        label="Role of new accounts",
    )
    jit_domains = forms.CharField(
        required=False,
        max_length=2000,
        label="Only for these email domains",
        help_text="Comma or space separated, e.g. example.com. Empty: any email the IdP sends.",
    )

    def __init__(self, *args, sso: SsoSettings, signed_in_with_sso: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.sso = sso
        self.signed_in_with_sso = signed_in_with_sso

    @classmethod
    def initial_for(cls, sso: SsoSettings) -> dict:
        return {
            "password_sign_in": sso.password_sign_in,
            "jit_enabled": sso.jit_enabled,
            "jit_role": sso.jit_role_id,
            "jit_domains": ", ".join(sso.jit_domains),
        }

    def clean_jit_domains(self) -> list[str]:
        domains = [d.lower() for d in re.split(r"[\s,]+", self.cleaned_data["jit_domains"]) if d]
        for domain in domains:
            try:
                validate_domain_name(domain)
            except forms.ValidationError as exc:
                raise forms.ValidationError(f"{domain!r} is not a domain name.") from exc
        return list(dict.fromkeys(domains))

    def clean(self):
        data = super().clean()
        if data.get("jit_enabled") and not data.get("jit_role"):
            self.add_error("jit_role", "Choose the role that new accounts get.")
        if data.get("password_sign_in") == PasswordSignIn.NOBODY:
            if not self.sso.any_enabled:
                self.add_error("password_sign_in", "Enable SAML or OpenID Connect first.")
            elif not self.signed_in_with_sso:
                self.add_error(
                    "password_sign_in",
                    "Sign in with SSO first (sign out, then use the SSO button), so you know "
                    "it works before passwords are turned off for everyone.",
                )
        return data

"""The Settings → NCMEC form: the console's side of the `ncmec` configuration block.

It saves through coop.config's writer, so it refuses exactly what `coop config apply` refuses
(the NCMEC queue's reviewers included). The CyberTip password is write-only: the page says
where the stored one comes from (coop.catalog.credentials.describe_credential), a blank field
keeps it, a typed value is stored encrypted, and an environment variable may be named instead.
"""

from __future__ import annotations

from typing import Any

from django import forms

from coop.catalog.credentials import encrypt_credential
from coop.childsafety.settings import TEXT_LIMIT, NcmecSettings
from coop.config.schema import ConfigError
from coop.core.enums import InternetDetailType, MediaReviewMode
from coop.review.models import Queue

# The configuration file's spelling (save_object's error paths) -> the form field.
FILE_KEYS = {
    "companyReportName": "company_report_name",
    "legalUrl": "legal_url",
    "contactEmail": "contact_email",
    "defaultQueue": "default_queue",
    "username": "username",
    "password": "password",
    "moreInfoUrl": "more_info_url",
    "termsOfService": "terms_of_service",
    "contactPerson.firstName": "contact_first_name",
    "contactPerson.lastName": "contact_last_name",
    "contactPerson.email": "contact_person_email",
    "contactPerson.phone": "contact_phone",
    "defaultInternetDetailType": "internet_detail_type",
    "mediaReview.mode": "media_review_mode",
    "mediaReview.count": "media_review_count",
    "mediaReview": "media_review_mode",
    "additionalInfoEndpoint": "additional_info_endpoint",
    "preservationEndpoint": "preservation_endpoint",
}
TEXT_FIELDS = [
    key for key in FILE_KEYS if "." not in key and key not in ("password", "mediaReview")
]
CONTACT_FIELDS = ["firstName", "lastName", "email", "phone"]


def _text(label: str, help_text: str = "", **kwargs: Any) -> forms.CharField:
    return forms.CharField(label=label, required=False, help_text=help_text, **kwargs)


class NcmecSettingsForm(forms.Form):
    company_report_name = _text(
        "Company report name",
        "Your company as NCMEC knows it: the report's company template and ESP service.",
        max_length=200,
    )
    legal_url = _text(
        "Legal URL",
        "Where law enforcement reads how to request data from you (the report's legal URL).",
    )
    contact_email = _text("Contact email", "The reporting person's email on every report.")
    more_info_url = _text(
        "More information URL",
        "Optional: the web page of the incident for WEB_PAGE internet details.",
    )
    terms_of_service = _text(
        "Terms of service",
        f"Optional, at most {TEXT_LIMIT:,} characters: the terms the reported user agreed to.",
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    username = _text("CyberTip username", "The user NCMEC gave you for the CyberTip API.")
    password = _text(
        "CyberTip password",
        "Write-only: leave empty to keep the stored password. A value typed here is stored "
        "encrypted.",
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
    )
    password_variable = _text(
        "Or read the password from the environment variable",
        "A variable name starting with SECRET_ (the file's !secret SECRET_…), read when a "
        "report is filed.",
    )
    clear_password = forms.BooleanField(label="Remove the stored password", required=False)
    contact_first_name = _text("First name")
    contact_last_name = _text("Last name")
    contact_person_email = _text("Email")
    contact_phone = _text("Phone")
    default_queue = forms.ChoiceField(
        label="NCMEC queue",
        required=False,
        help_text="Where user-level NCMEC jobs wait. Only users with the "
        "VIEW_CHILD_SAFETY_DATA permission may review it; every job in it is hidden from the "
        "others.",
    )
    media_review_mode = forms.ChoiceField(
        label="Media review",
        choices=MediaReviewMode.choices,
        widget=forms.RadioSelect,
        initial=MediaReviewMode.ALL,
        help_text="How many media items the reviewer classifies (or marks not relevant) "
        "before Submit to NCMEC is accepted.",
    )
    media_review_count = forms.IntegerField(
        label="Minimum number of media items",
        required=False,
        help_text="With “A minimum number”: how many media items at least (1 or more).",
    )
    internet_detail_type = forms.ChoiceField(
        label="Default internet detail type",
        required=False,
        choices=[("", "None (no internet details)"), *InternetDetailType.choices],
        help_text="Where the incident happened, as the report's internet details say.",
    )
    additional_info_endpoint = _text(
        "Additional-info endpoint",
        "Optional: your signed webhook Coop asks for the user's emails, screen names and IP "
        "events before filing (docs/child-safety.md).",
    )
    preservation_endpoint = _text(
        "Preservation endpoint",
        "Optional: your signed webhook told to preserve the reported data once NCMEC has the "
        "report.",
    )

    def __init__(self, *args: Any, current: NcmecSettings, **kwargs: Any) -> None:
        self.current = current
        kwargs.setdefault("initial", self.initial_for(current))
        super().__init__(*args, **kwargs)
        queues = Queue.objects.filter(is_appeals=False, is_default=False).order_by("name", "id")
        self.fields["default_queue"].choices = [
            ("", "None: csam reports wait in the default queue"),
            *((q.pk, q.name) for q in queues),
        ]

    @staticmethod
    def initial_for(current: NcmecSettings) -> dict[str, Any]:
        initial: dict[str, Any] = {FILE_KEYS[key]: current[key] or "" for key in TEXT_FIELDS}
        for key in CONTACT_FIELDS:
            initial[FILE_KEYS[f"contactPerson.{key}"]] = current["contactPerson"][key] or ""
        initial["internet_detail_type"] = current["defaultInternetDetailType"] or ""
        initial["media_review_mode"] = current["mediaReview"]["mode"]
        initial["media_review_count"] = current["mediaReview"].get("count")
        return initial

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        chosen = [bool(data.get("password")), bool(data.get("password_variable", "").strip())]
        if sum(chosen) + bool(data.get("clear_password")) > 1:
            raise forms.ValidationError(
                "Type a password, name an environment variable, or remove the password: one "
                "of them."
            )
        return data

    def file_data(self) -> dict[str, Any]:
        """The `ncmec` block as the configuration file spells it."""
        d = self.cleaned_data

        def value(name: str) -> str | None:
            text = (d.get(name) or "").strip()
            return text or None

        block: dict[str, Any] = {key: value(FILE_KEYS[key]) for key in TEXT_FIELDS}
        block["contactPerson"] = {
            key: value(FILE_KEYS[f"contactPerson.{key}"]) for key in CONTACT_FIELDS
        }
        block["defaultInternetDetailType"] = d.get("internet_detail_type") or None
        review: dict[str, Any] = {"mode": d["media_review_mode"]}
        if (
            d["media_review_mode"] == MediaReviewMode.MINIMUM
            and d.get("media_review_count") is not None
        ):
            review["count"] = d["media_review_count"]
        block["mediaReview"] = review
        block["password"] = self._password()
        return block

    def _password(self) -> dict[str, str] | None:
        d = self.cleaned_data
        if d.get("clear_password"):
            return None
        variable = (d.get("password_variable") or "").strip()
        if variable:
            return {"secret": variable}
        if d.get("password"):
            return encrypt_credential(d["password"])
        return self.current["password"]

    def add_save_errors(self, errors: list[ConfigError]) -> None:
        """Put each error of `save_object` next to its field (the rest above the form)."""
        for error in errors:
            name = FILE_KEYS.get(error.path)
            if name == "password" and (self.cleaned_data.get("password_variable") or "").strip():
                name = "password_variable"
            if name is not None:
                self.add_error(name, error.message)
            else:
                self.add_error(None, str(error))

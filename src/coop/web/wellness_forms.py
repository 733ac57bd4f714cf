"""The wellness settings forms: personal preferences and the organisation's defaults.

The organisation's defaults are part of `settings`, saved through coop.config's writer like
the configuration file, so the form and `coop config apply` refuse the same values.
"""

from __future__ import annotations

from django import forms

from coop.accounts.models import ColorScheme, User
from coop.accounts.wellness import STRONGEST, Wellness, personal_or_default
from coop.config.schema import ConfigError
from coop.config.services import SaveResult, save_settings

USE_DEFAULT = ""
# `settings` paths as `save_object` reports them -> the form fields that set them.
CONFIG_FIELDS = {
    "wellness.blurLevel": "blur_level",
    "wellness.colorScheme": "color_scheme",
    "wellness.muteVideo": "mute_video",
}
MUTE_CHOICES = (("on", "Muted"), ("off", "Sound on"))


def save_org_wellness(wellness: Wellness, *, user: User) -> SaveResult:
    """Replace only the `wellness` block: the other settings are saved back unchanged."""
    return save_settings("wellness", wellness.as_config(), user=user)


BLUR_CHOICES = [
    (0, "Off"),
    (1, "1 (lightest)"),
    *((level, str(level)) for level in range(2, STRONGEST)),
    (STRONGEST, f"{STRONGEST} (strongest)"),
]
MUTE_LABELS = dict(MUTE_CHOICES)


def _default_label(value: str) -> str:
    return f"Organisation default ({value})"


class PersonalWellnessForm(forms.Form):
    """A user's overrides; every field may be left at the organisation default."""

    blur_level = forms.TypedChoiceField(
        label="Blur images and videos",
        coerce=int,
        empty_value=None,
        required=False,
        help_text="Blurred media is revealed while you hover or focus it; videos while they play.",
    )
    color_scheme = forms.TypedChoiceField(
        label="Colour filter",
        coerce=ColorScheme,
        empty_value=None,
        required=False,
    )
    mute_video = forms.TypedChoiceField(
        label="Videos start",
        coerce=lambda value: value == "on",
        empty_value=None,
        required=False,
    )

    def __init__(self, *args, defaults: Wellness, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        blur_default = dict(BLUR_CHOICES)[defaults.blur_level]
        mute_default = MUTE_LABELS["on" if defaults.mute_video else "off"]
        fields = self.fields
        fields["blur_level"].choices = [(USE_DEFAULT, _default_label(blur_default)), *BLUR_CHOICES]
        fields["color_scheme"].choices = [
            (USE_DEFAULT, _default_label(defaults.color_scheme.label)),
            *ColorScheme.choices,
        ]
        fields["mute_video"].choices = [(USE_DEFAULT, _default_label(mute_default)), *MUTE_CHOICES]

    @classmethod
    def initial_for(cls, user: User) -> dict:
        return {
            "blur_level": personal_or_default(user.wellness_blur_level, USE_DEFAULT),
            "color_scheme": personal_or_default(user.wellness_color_scheme, USE_DEFAULT),
            "mute_video": {None: USE_DEFAULT, True: "on", False: "off"}[user.wellness_mute_video],
        }


class OrgWellnessForm(forms.Form):
    """The organisation defaults: every field is required."""

    blur_level = forms.TypedChoiceField(
        label="Blur images and videos",
        coerce=int,
        choices=BLUR_CHOICES,
        help_text="Blurred media is revealed while it is hovered or focused; videos while they "
        "play.",
    )
    color_scheme = forms.TypedChoiceField(
        label="Colour filter", coerce=ColorScheme, choices=ColorScheme.choices
    )
    mute_video = forms.BooleanField(label="Mute videos by default", required=False)

    @classmethod
    def initial_for(cls, wellness: Wellness) -> dict:
        return {
            "blur_level": wellness.blur_level,
            "color_scheme": wellness.color_scheme,
            "mute_video": wellness.mute_video,
        }

    def wellness(self) -> Wellness:
        return Wellness(**self.cleaned_data)

    def add_save_errors(self, errors: list[ConfigError]) -> None:
        """Show what `save_object` refused on the field it concerns (or above the form)."""
        for error in errors:
            self.add_error(CONFIG_FIELDS.get(error.path), f"{error.path}: {error.message}")

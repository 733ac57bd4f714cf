"""Reviewer wellness (accounts.md): how media is shown in the console, and the forms that set it.

The organisation's defaults live in the `settings.wellness` block of the configuration (saved
through `save_object`, so they are validated and versioned like the file); each user may
override any of the three values, or leave it at "use organisation default".
"""

from __future__ import annotations

from dataclasses import dataclass

from django.http import HttpRequest

from coop.accounts.models import BLUR_LEVELS, ColorScheme, User
from coop.catalog.org_settings import org_settings

STRONGEST = max(BLUR_LEVELS)


@dataclass(frozen=True)
class Wellness:
    blur_level: int
    color_scheme: ColorScheme
    mute_video: bool

    @classmethod
    def from_config(cls, block: dict) -> Wellness:
        return cls(block["blurLevel"], ColorScheme(block["colorScheme"]), block["muteVideo"])

    def as_config(self) -> dict:
        return {
            "blurLevel": self.blur_level,
            "colorScheme": str(self.color_scheme),
            "muteVideo": self.mute_video,
        }

    @property
    def summary(self) -> str:
        """One line for people (and screen readers); wellness.js words the live preview alike."""
        blur = f"Blur {self.blur_level} of {STRONGEST}" if self.blur_level else "No blur"
        videos = "videos muted" if self.mute_video else "videos with sound"
        return f"{blur} · {self.color_scheme.label} · {videos}"


def org_wellness() -> Wellness:
    return Wellness.from_config(org_settings()["wellness"])


def effective_wellness(user: User | None, defaults: Wellness | None = None) -> Wellness:
    """The organisation defaults with `user`'s personal overrides applied."""
    defaults = defaults or org_wellness()
    if user is None or not user.is_authenticated:
        return defaults
    return Wellness(
        blur_level=personal_or_default(user.wellness_blur_level, defaults.blur_level),
        color_scheme=ColorScheme(
            personal_or_default(user.wellness_color_scheme, defaults.color_scheme)
        ),
        mute_video=personal_or_default(user.wellness_mute_video, defaults.mute_video),
    )


def personal_or_default(personal, default):
    """A personal value, unless it is None ("use organisation default")."""
    return default if personal is None else personal


def wellness_for(request: HttpRequest) -> Wellness:
    """`effective_wellness` of the signed-in user, computed once per request (pages with many
    images would otherwise read the settings once per image)."""
    if not hasattr(request, "coop_wellness"):
        request.coop_wellness = effective_wellness(getattr(request, "user", None))
    return request.coop_wellness

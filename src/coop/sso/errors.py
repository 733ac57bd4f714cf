"""The one exception of a refused SSO sign-in."""


class SsoRefused(Exception):
    """An SSO sign-in that must not go ahead. The message is the reason for the log, never
    shown to the browser (it may say what an attacker got wrong)."""

"""Password reset and change (accounts.md).

Reset links last an hour, work once (the user's every link is deleted when one is used or the
password changes) and are stored hashed. Resetting ends every session of the user; changing
ends all but the current one.

"Forgot password?" must not tell who has an account, by its answer or by its timing: the web
request does the same work for every email (throttle, record, queue a task), and the task, in
a worker, looks the account up and sends the email.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from coop import mail
from coop.accounts.models import PasswordResetRequest, PasswordResetToken, User
from coop.accounts.services import AccountError, end_sessions
from coop.accounts.tokens import lookup_hash, new_token
from coop.catalog.org_settings import org_settings

RESET_LIFETIME = timedelta(hours=1)
# "Forgot password?" requests allowed per email, and per address, within THROTTLE_WINDOW.
THROTTLE_WINDOW = timedelta(hours=1)
REQUESTS_PER_EMAIL = 5
REQUESTS_PER_ADDRESS = 20


def reset_link(token: str) -> str:
    return settings.BASE_URL + reverse("password-reset-confirm", args=[token])


def issue_reset_token(user: User) -> tuple[PasswordResetToken, str]:
    token, token_hash = new_token()
    now = timezone.now()
    reset = PasswordResetToken.objects.create(
        user=user, token_hash=token_hash, created_at=now, expires_at=now + RESET_LIFETIME
    )
    return reset, token


def reset_email(reset: PasswordResetToken, token: str) -> tuple[str, str]:
    organisation = org_settings()["organization"]["name"]
    minutes = round((reset.expires_at - reset.created_at) / timedelta(minutes=1))
    subject = "Reset your Coop password"
    body = (
        f"Someone asked to reset the password of your {organisation} account on Coop "
        f"({reset.user.email}).\n\n"
        f"Choose a new password here:\n{reset_link(token)}\n\n"
        f"The link works once and expires at {reset.expires_at:%H:%M} UTC on "
        f"{reset.expires_at:%Y-%m-%d} (in {minutes} minutes).\n"
        "If you did not ask for it, ignore this email: your password stays as it is.\n"
    )
    return subject, body


def send_reset_link(user: User) -> tuple[str, bool]:
    """An administrator's "Send password-reset link": the link, and whether it was emailed
    (False when no email service is configured; the console then shows it once). Raises
    OSError when sending fails, and then no link is left behind."""
    with transaction.atomic():
        reset, token = issue_reset_token(user)
        mail.send_mail(user.email, *reset_email(reset, token))
    return reset_link(token), bool(settings.COOP_EMAIL_URL)


def request_reset(email: str, address: str | None) -> bool:
    """Queue the reset email for `email` (if it has an active account; the task decides);
    False when the email or the address asked too often. The same work for every email."""
    from coop.accounts.tasks import send_password_reset
    from coop.queueing import in_transaction

    email = email.strip().lower()
    now = timezone.now()
    since = now - THROTTLE_WINDOW
    with transaction.atomic():
        PasswordResetRequest.objects.filter(created_at__lt=since).delete()
        recent = PasswordResetRequest.objects.filter(created_at__gte=since)
        if recent.filter(email=email).count() >= REQUESTS_PER_EMAIL:
            return False
        if address and recent.filter(address=address).count() >= REQUESTS_PER_ADDRESS:
            return False
        PasswordResetRequest.objects.create(email=email, address=address, created_at=now)
        in_transaction(send_password_reset).defer(email=email)
    return True


def deliver_reset(email: str) -> bool:
    """The task's work: email a reset link if `email` is an active account's; whether one was
    sent. If sending fails the link is rolled back and the error raised (the task retries)."""
    user = User.objects.filter(email=email, is_active=True).first()
    if user is None:
        return False
    with transaction.atomic():
        reset, token = issue_reset_token(user)
        mail.send_mail(user.email, *reset_email(reset, token))
    return True


def _open_reset(token: str, *, for_update: bool = False) -> PasswordResetToken | None:
    token_hash = lookup_hash(token)
    if token_hash is None:
        return None
    resets = PasswordResetToken.objects.select_related("user")
    if for_update:
        resets = resets.select_for_update()
    return resets.filter(
        token_hash=token_hash, expires_at__gt=timezone.now(), user__is_active=True
    ).first()


def reset_user(token: str) -> User | None:
    """Whose password a link resets, if it still works."""
    reset = _open_reset(token)
    return reset.user if reset else None


def _set_password(user: User, password: str, keep_session_key: str | None) -> None:
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise AccountError(" ".join(exc.messages), field="new_password") from exc
    user.set_password(password)
    user.save(update_fields=["password"])
    PasswordResetToken.objects.filter(user=user).delete()
    end_sessions(user, keep_session_key)


def reset_password(token: str, password: str) -> User | None:
    """Set the password a link resets and end every session of the user; None when the link
    no longer works (nothing is changed)."""
    with transaction.atomic():
        reset = _open_reset(token, for_update=True)
        if reset is None:
            return None
        _set_password(reset.user, password, keep_session_key=None)
    return reset.user


def change_password(user: User, new: str, keep_session_key: str | None) -> None:
    """The signed-in user's change, once the caller has verified their current password (the
    console does it like a sign-in, so wrong guesses are throttled): every other session of
    theirs ends (the one `keep_session_key` names stays)."""
    with transaction.atomic():
        _set_password(user, new, keep_session_key)

"""Background tasks of accounts: the "Forgot password?" email (sent by a worker, so the web
request takes the same time whether or not the email has an account)."""

from __future__ import annotations

from procrastinate import RetryStrategy
from procrastinate.contrib.django import app

from coop.accounts import passwords


# An SMTP failure is retried 1, 2, 3, 4 and 5 minutes later (a quarter of an hour in all, well
# inside the link's hour); each attempt makes its own link.
@app.task(
    name="coop.send_password_reset",
    queue="email",
    retry=RetryStrategy(max_attempts=5, wait=60, linear_wait=60),
)
def send_password_reset(email: str) -> None:
    passwords.deliver_reset(email)

"""The console's session engine (SESSION_ENGINE): Django's database sessions, with the user's
id in its own indexed column, so ending a user's sessions is one DELETE (accounts.md:
deactivation, password change and reset end sessions at once)."""

from __future__ import annotations

from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore


class SessionStore(DatabaseSessionStore):
    @classmethod
    def get_model_class(cls):
        from coop.accounts.models import UserSession

        return UserSession

    def create_model_instance(self, data):
        session = super().create_model_instance(data)
        try:
            session.user_id = int(data.get(SESSION_KEY))
        except (TypeError, ValueError):
            session.user_id = None
        return session

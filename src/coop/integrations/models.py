"""What Coop last saw of each integration: its last error and last success (not configuration:
never exported, written by the processes that call the integration)."""

from __future__ import annotations

from django.db import models


class IntegrationStatus(models.Model):
    """One row per integration (`openai`, `googleContentSafety`, `zentropi`,
    `httpSignals:<id>`), shown on Settings → Integrations."""

    key = models.CharField(primary_key=True, max_length=100)
    last_error = models.TextField(blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    # The provider refused the credentials (401/403) or they cannot be read: no call can
    # succeed until the configuration changes.
    last_error_permanent = models.BooleanField(default=False)
    last_success_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "integration statuses"

    def __str__(self) -> str:
        return self.key

    @property
    def failing(self) -> bool:
        """The last call failed (no success since the last error)."""
        if self.last_error_at is None:
            return False
        return self.last_success_at is None or self.last_success_at < self.last_error_at

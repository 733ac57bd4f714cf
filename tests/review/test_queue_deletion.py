"""Deleting a queue (catalog services, used by the console's queue forms)."""

from __future__ import annotations

import pytest

from coop.config.services import delete_object, save_object
from coop.review.models import Job, JobStatus, Queue
from factories import post, rule_job

pytestmark = pytest.mark.django_db


def test_deletion_is_refused_while_a_routing_rule_targets_the_queue(catalog):
    assert save_object("queues", {"id": "spamq", "name": "Spam queue"}).ok
    rule = {
        "id": "to-spam",
        "name": "To spam",
        "itemTypes": ["post"],
        "queue": "spamq",
        "condition": {"input": {"field": "deleted"}, "comparator": "EQUALS", "threshold": True},
    }
    saved = save_object("routingRules", rule)
    assert saved.ok, saved.errors
    result = delete_object("queues", "spamq")
    assert not result.ok
    assert any("to-spam" in e.path or "to-spam" in e.message for e in result.errors)
    assert Queue.objects.filter(pk="spamq").exists()


def test_deletion_moves_pending_jobs_to_the_default_queue(catalog):
    assert save_object("queues", {"id": "spamq", "name": "Spam queue"}).ok
    job = rule_job(post("p-1"), Queue.objects.get(pk="spamq"))
    assert delete_object("queues", "spamq").ok
    job = Job.objects.get(pk=job.pk)
    assert (job.queue_id, job.status) == ("default", JobStatus.PENDING)

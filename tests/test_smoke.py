import pytest

from coop.catalog.models import Action
from coop.review.models import Queue


@pytest.mark.django_db
def test_migrations_create_builtins():
    assert set(Action.objects.filter(builtin=True).values_list("id", flat=True)) == {
        "coop.manual-review",
        "coop.manual-review-author",
        "coop.ncmec",
    }
    assert Queue.objects.filter(is_default=True).count() == 2

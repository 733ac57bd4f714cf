import pytest


@pytest.fixture
def api_key(db):
    """A valid platform API key (the clear text), for calling /api/v1."""
    from coop.accounts.services import create_api_key

    _, key = create_api_key(name="tests")
    return key

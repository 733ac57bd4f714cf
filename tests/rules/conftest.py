import pytest


@pytest.fixture
def api(client, api_key):
    class Api:
        def post(self, path, body):
            return client.post(
                path, body, content_type="application/json", headers={"X-API-KEY": api_key}
            )

    return Api()

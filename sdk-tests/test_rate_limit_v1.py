"""Rate limits through the official Python SDK `sailpoint` 2.x (per-service v1 paths).

Run in .venv-v1 against the rate-limited accessd (ACCESSD_LIMITED_BASE_URL, 5 requests per
10 s: after the budget, Retry-After: 2). urllib3's default Retry(total=3), which the SDK
keeps, retries a GET answered 429 after sleeping Retry-After seconds; a POST is not retried.
"""

import pytest
from sailpoint import AccessProfilesApi, ApiClient, Configuration, ConfigurationParams
from sailpoint.access_profiles.models import AccessProfileBulkDeleteRequest
from sailpoint.exceptions import ApiException

from conftest import RATE_LIMIT_BODY, exhaust, header, log_wire, record_attempts, require_token


@pytest.fixture(scope="module")
def client(limited_target):
    params = ConfigurationParams()
    params.base_url = limited_target.base_url
    params.client_id = limited_target.client_id
    params.client_secret = limited_target.client_secret
    configuration = Configuration(params)
    require_token(configuration, limited_target)
    return log_wire(ApiClient(configuration))


def test_v1_a_rate_limited_get_is_retried_after_retry_after_and_succeeds(client, limited_target):
    calls = record_attempts(client)
    exhaust(limited_target, "/access-profiles/v1?limit=1", client.configuration.access_token)
    profiles = AccessProfilesApi(client).list_access_profiles_v1(limit=1)
    assert isinstance(profiles, list), f"expected the list after the retry, got {profiles!r}"
    attempts = calls[-1]
    assert attempts[0] == 429 and attempts[-1] == 200, \
        f"the SDK's GET should have met a 429 and then succeeded on retry; attempts: {attempts}"


def test_v1_a_rate_limited_post_is_raised_not_retried(client, limited_target):
    calls = record_attempts(client)
    exhaust(limited_target, "/access-profiles/v1?limit=1", client.configuration.access_token)
    with pytest.raises(ApiException) as limited:
        AccessProfilesApi(client).delete_access_profiles_in_bulk_v1(
            AccessProfileBulkDeleteRequest(access_profile_ids=["0" * 32]))
    assert limited.value.status == 429, f"expected 429, got {limited.value.status}: {limited.value.body}"
    body = limited.value.body.encode() if isinstance(limited.value.body, str) else limited.value.body
    assert body == RATE_LIMIT_BODY, f"429 body: {limited.value.body!r}"
    assert header(limited.value.headers, "Retry-After"), f"no Retry-After: {limited.value.headers}"
    assert calls[-1] == [429], f"a POST is sent once; attempts: {calls[-1]}"

"""The admin API for testers (`/_accessd/`, spec/accessd-admin.json) under the official
Python SDK `sailpoint==1.4.2` (sailpoint.v2025): what an SDK user's own test suite would do
with injected faults, the server's clock and the request journal.

Run in .venv-v3, in a pytest run of its own after the other suites (sdk-tests/run.sh):
faults and the clock are global to the server, so every test here takes the `controls`
fixture (conftest.py), which starts from no faults, the real clock and an empty journal and
restores the first two afterwards. The admin calls go through plain urllib with the
start-up admin client's token (it holds `accessd:admin`); the SDK makes only the calls
under test.
"""

import datetime
import json

import pytest
import sailpoint.v2025 as v2025
from sailpoint.v2025.exceptions import UnauthorizedException

from conftest import assert_id, assert_utc_datetime, log_wire, record_attempts, unique_name, wait_for_completion
from test_v3_beta import new_profile
from test_year_families import configure, world_of

# CONTRACT §6: a token lives `expires_in` seconds, 749 by default.
TOKEN_LIFETIME = 749
EXPIRED = {"error": "JWT validation failed: JWT is expired"}


@pytest.fixture(scope="module")
def client(target):
    return log_wire(v2025.ApiClient(configure(target)))


@pytest.fixture(scope="module")
def world(client):
    return world_of(v2025, client)


def instant(clock):
    """The `now` of a clock answer as a datetime."""
    return datetime.datetime.fromisoformat(clock["now"].replace("Z", "+00:00"))


def journal_of(controls, operation_id):
    """The journal's entries for `operation_id` as (method, path, status, fault) tuples."""
    return [(e["method"], e["path"], e["status"], e["fault"]) for e in controls.requests(operationId=operation_id)]


def test_an_injected_429_on_a_get_is_retried_by_the_sdk_and_the_journal_shows_each_attempt(
        controls, client, target):
    """1.4.2 keeps urllib3's default Retry (total 3, Retry-After honoured for 429 on GET:
    SDK-NOTES §11), so two injected 429s with Retry-After: 1 are invisible to the caller."""
    fault = controls.add_fault(operationId="listAccessProfiles", family="v2025", status=429,
                               retryAfter=1, times=2)
    assert_id(fault["id"], "fault id")
    attempts = record_attempts(client)

    profiles = v2025.AccessProfilesApi(client).list_access_profiles(limit=5)

    assert isinstance(profiles, list) and profiles, f"expected the demo's profiles after the retries, got {profiles!r}"
    assert all(isinstance(p, v2025.AccessProfile) for p in profiles), f"{profiles!r}"
    assert attempts == [[429, 429, 200]], f"urllib3's attempts for the one SDK call: {attempts}"
    entries = controls.requests(operationId="listAccessProfiles")
    path = "/v2025/access-profiles"
    assert [(e["method"], e["path"], e["query"], e["status"], e["fault"]) for e in entries] == [
        ("GET", path, "limit=5", 429, fault["id"]),
        ("GET", path, "limit=5", 429, fault["id"]),
        ("GET", path, "limit=5", 200, None),
    ], f"the journal should hold exactly the three attempts, the first two answered by the fault: {entries}"
    assert all(e["family"] == "v2025" and e["clientId"] == target.client_id for e in entries), f"{entries}"
    assert len({e["trackingId"] for e in entries}) == 3, f"each attempt is its own request: {entries}"
    assert controls.faults() == [], "a rule with times 2 is gone once it fired twice"


@pytest.mark.parametrize("outcome", ["ERROR", "TEMPERROR", "WARNING", "TERMINATED"])
def test_an_injected_task_outcome_is_what_the_sdk_reads_through_task_management(
        controls, client, world, outcome):
    api = v2025.AccessProfilesApi(client)
    prefix = unique_name(f"outcome-{outcome.lower()}")
    ids = [api.create_access_profile(new_profile(v2025, world, f"{prefix}-{i}")).id for i in (1, 2)]
    fault = controls.add_fault(operationId="deleteAccessProfilesInBulk", family="v2025",
                               taskOutcome=outcome, times=1)

    answer = api.delete_access_profiles_in_bulk_with_http_info(
        v2025.AccessProfileBulkDeleteRequest(access_profile_ids=ids))

    # The request itself is answered as usual (CONTRACT §3.2): 202, both pending, a task.
    assert answer.status_code == 202, f"bulk delete: expected 202, got {answer.status_code} {answer.raw_data!r}"
    assert answer.data.pending == ids and answer.data.in_use == [], f"{answer.data!r}"
    task_id = answer.data.task_id
    assert_id(task_id, "bulk delete taskId")
    tasks = v2025.TaskManagementApi(client)
    status = wait_for_completion(tasks.get_task_status, task_id, f"bulk delete with taskOutcome {outcome}", outcome)
    assert isinstance(status, v2025.TaskStatus), f"{status!r}"
    assert_utc_datetime(status.completed, "task completed")
    said = [(m.type, m.key) for m in status.messages]
    assert ("WARN" if outcome == "WARNING" else "ERROR", "injected_outcome") in said, \
        f"the task's messages should say a fault rule decided its outcome: {status.messages!r}"
    # The task deleted nothing.
    for id in ids:
        kept = api.get_access_profile(id)
        assert kept.id == id, f"profile {id} should still exist after a {outcome} task: {kept!r}"
    assert journal_of(controls, "deleteAccessProfilesInBulk") == [
        ("POST", "/v2025/access-profiles/bulk-delete", 202, fault["id"])], "the journal names the fault"
    assert controls.faults() == [], "a rule with times 1 is gone once it fired"


def test_a_token_is_refused_once_the_clock_passes_its_expiry_and_a_new_client_works(controls, target):
    """1.4.2 fetches its token once, in Configuration(), and never refreshes it (SDK-NOTES §2):
    a client whose token the clock expired gets 401 until the caller builds a new one."""
    lifetime = controls.issue_token()["expires_in"]
    assert lifetime == TOKEN_LIFETIME, f"expires_in: {lifetime}"
    # Frozen first, so the SDK's token is issued at a known instant of the server's clock.
    frozen = controls.clock(freeze=True)
    assert frozen["frozen"] is True, f"{frozen}"
    old = v2025.AccessProfilesApi(log_wire(v2025.ApiClient(configure(target))))
    assert isinstance(old.list_access_profiles(limit=1), list)

    controls.clock(advanceSeconds=lifetime - 1)
    assert isinstance(old.list_access_profiles(limit=1), list), "one second before expiry the token still works"

    moved = controls.clock(advanceSeconds=2)
    assert moved["frozen"] is True and instant(moved) - instant(frozen) == datetime.timedelta(seconds=lifetime + 1), \
        f"frozen at {frozen}, then moved {lifetime + 1} s: {moved}"
    with pytest.raises(UnauthorizedException) as refused:
        old.list_access_profiles(limit=1)
    assert refused.value.status == 401, f"{refused.value.status}: {refused.value.body}"
    assert json.loads(refused.value.body) == EXPIRED, f"401 body (CONTRACT §6): {refused.value.body!r}"

    fresh = v2025.AccessProfilesApi(log_wire(v2025.ApiClient(configure(target))))
    assert isinstance(fresh.list_access_profiles(limit=1), list), "a new client gets a token of the moved clock"
    listed = [e["status"] for e in controls.requests() if e["path"] == "/v2025/access-profiles"]
    assert listed == [200, 200, 401, 200], f"the journal's GET /v2025/access-profiles answers: {listed}"

"""Task management in the year-versioned families through the official Python SDK
`sailpoint==1.4.2` (sailpoint.v2024, v2025, v2026 `TaskManagementApi`, paths
/v20xx/task-status...): CONTRACT §4.

Run in .venv-v3 against the accessd that scripts/sdk-smoke.sh starts without a task runner
(ACCESSD_HELD_BASE_URL): a task it is given stays pending until a client completes it, so
the tests see every state without racing a runner. The task is a best-effort bulk delete of
two fresh access profiles (sailpoint.v2025 AccessProfilesApi: v2026 has no access-profile
API in 1.4.2). The three modules' TaskManagementApi have the same method names; what differs
by family (CONTRACT §4 and the spec files):
- getTaskStatusList lists finished tasks only in v2024, tasks in every state from v2025;
  `completionStatus isnull` is a filter from v2025, `launcher` eq/in from v2026;
- pending tasks (GET and HEAD /task-status/pending-tasks) exist in v2024 and v2025 only;
- 1.4.2's v2026 module sends `X-SailPoint-Experimental: true` on every task operation
  (its spec file does not declare the header; accessd accepts it), so the configuration
  needs `experimental = True` (SDK-NOTES §16).
"""

import os

import pytest
import sailpoint.v2024 as v2024
import sailpoint.v2025 as v2025
import sailpoint.v2026 as v2026

from conftest import Target, assert_id, assert_isc_error, assert_utc_datetime, header, log_wire, unique_name
from test_v3_beta import new_profile, patch_value
from test_year_families import configure, world_of

FAMILIES = {"v2024": v2024, "v2025": v2025, "v2026": v2026}


@pytest.fixture(scope="module")
def held_target(target):
    base = os.environ.get("ACCESSD_HELD_BASE_URL")
    if not base:
        pytest.fail("set ACCESSD_HELD_BASE_URL to an accessd started with ACCESSD_TASK_RUNNER=false "
                    "(scripts/sdk-smoke.sh starts one)", pytrace=False)
    return Target(base, target.client_id, target.client_secret)


@pytest.fixture(scope="module")
def configuration(held_target):
    return configure(held_target)


@pytest.fixture(scope="module")
def v2025_client(configuration):
    return log_wire(v2025.ApiClient(configuration))


@pytest.fixture(scope="module")
def world(v2025_client):
    return world_of(v2025, v2025_client)


def pending_task(client, world):
    """A best-effort bulk delete of two new profiles: 202 and a task nobody runs."""
    api = v2025.AccessProfilesApi(client)
    prefix = unique_name("task")
    profiles = [api.create_access_profile(new_profile(v2025, world, f"{prefix}-{i}")) for i in (1, 2)]
    ids = [p.id for p in profiles]
    answer = api.delete_access_profiles_in_bulk_with_http_info(
        v2025.AccessProfileBulkDeleteRequest(access_profile_ids=ids, best_effort_only=True))
    assert answer.status_code == 202, f"bulk delete: expected 202, got {answer.status_code}"
    assert answer.data.pending == ids, f"pending should be {ids}, got {answer.data.pending!r}"
    assert_id(answer.data.task_id, "bulk delete taskId")
    return answer.data.task_id, ids


def deprecated():
    """1.4.2 marks the pending-task operations deprecated in v2024 and v2025 and warns on
    each call (a DeprecationWarning, before sending)."""
    return pytest.warns(DeprecationWarning, match="/task-status/pending-tasks is deprecated")


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_task_status_get_list_and_complete(family, configuration, v2025_client, world):
    sdk = FAMILIES[family]
    tasks = sdk.TaskManagementApi(log_wire(sdk.ApiClient(configuration)))
    task_id, profile_ids = pending_task(v2025_client, world)

    got = tasks.get_task_status_with_http_info(task_id)
    assert got.status_code == 200
    status = got.data
    assert isinstance(status, sdk.TaskStatus), f"expected {family} TaskStatus, got {status!r}"
    assert status.id == task_id and status.type == "QUARTZ", f"{status!r}"
    assert status.completion_status is None and status.completed is None, f"nobody runs this task: {status!r}"
    assert isinstance(status.launcher, str) and status.launcher, f"launcher: {status.launcher!r}"
    assert_utc_datetime(status.created, "task created")

    def listed_ids(**kwargs):
        answer = tasks.get_task_status_list_with_http_info(count=True, **kwargs)
        assert answer.status_code == 200
        assert header(answer.headers, "X-Total-Count") == str(len(answer.data)), \
            f"X-Total-Count {header(answer.headers, 'X-Total-Count')} for {len(answer.data)} items"
        return answer.data, [t.id for t in answer.data]

    by_id = f'id eq "{task_id}"'
    if family == "v2024":
        # v2024 lists finished tasks only.
        assert listed_ids(filters=by_id)[1] == [], "v2024 getTaskStatusList lists finished tasks only"
    else:
        assert listed_ids(filters=by_id)[1] == [task_id], f"{family} getTaskStatusList lists tasks in every state"
        unfinished, ids = listed_ids(filters="completionStatus isnull", sorters="-created")
        assert task_id in ids and all(t.completion_status is None for t in unfinished), \
            f"completionStatus isnull: {[(t.id, t.completion_status) for t in unfinished]}"
        assert [t.created for t in unfinished] == sorted((t.created for t in unfinished), reverse=True), "sorters=-created"
    if family in ("v2024", "v2025"):
        with deprecated():
            pending = tasks.get_pending_tasks_with_http_info(count=True)
        assert pending.status_code == 200 and task_id in [t.id for t in pending.data], \
            f"the task should be pending: {[t.id for t in pending.data]}"
        assert header(pending.headers, "X-Total-Count") == str(len(pending.data))
        with deprecated():
            heads = tasks.get_pending_task_headers_with_http_info(count=True)
        assert heads.status_code == 200 and heads.raw_data in (b"", None), f"HEAD: {heads.status_code} {heads.raw_data!r}"
        assert header(heads.headers, "X-Total-Count") == str(len(pending.data)), f"HEAD X-Total-Count in {heads.headers}"
    if family == "v2026":
        launched, ids = listed_ids(filters=f'launcher eq "{status.launcher}" and completionStatus isnull')
        assert task_id in ids and all(t.launcher == status.launcher for t in launched), \
            f"launcher eq: {[(t.id, t.launcher) for t in launched]}"
    # A filter the family's spec file does not list is refused (CONTRACT §5).
    unlisted = {"v2024": "completionStatus isnull", "v2025": f'launcher eq "{status.launcher}"',
                "v2026": f'launcher sw "{status.launcher[:3]}"'}[family]
    with pytest.raises(sdk.ApiException) as refused:
        tasks.get_task_status_list(filters=unlisted)
    assert_isc_error(refused.value, 400)

    # Complete it: TERMINATED, with `completed` written in the same step (§4).
    patch = [sdk.JsonPatchOperation(op="replace", path="/completionStatus", value=patch_value(sdk)("TERMINATED"))]
    updated = tasks.update_task_status_with_http_info(task_id, patch)
    assert updated.status_code == 200, f"updateTaskStatus: expected 200, got {updated.status_code}"
    assert updated.data.id == task_id and updated.data.completion_status == "TERMINATED", f"{updated.data!r}"
    assert_utc_datetime(updated.data.completed, "task completed")
    after = tasks.get_task_status(task_id)
    assert (after.completion_status, after.completed) == ("TERMINATED", updated.data.completed), f"{after!r}"
    assert listed_ids(filters=f'{by_id} and completionStatus eq "TERMINATED"')[1] == [task_id]
    if family != "v2026":
        with deprecated():
            still_pending = tasks.get_pending_tasks()
        assert task_id not in [t.id for t in still_pending], "a completed task is not pending"
    else:
        assert task_id not in listed_ids(filters="completionStatus isnull")[1]

    # The terminated task deleted nothing.
    profiles = v2025.AccessProfilesApi(v2025_client)
    assert [profiles.get_access_profile(i).id for i in profile_ids] == profile_ids
    for i in profile_ids:
        assert profiles.delete_access_profile_with_http_info(i).status_code == 204

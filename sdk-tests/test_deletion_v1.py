"""Deleting access profiles, and roles, through the official Python SDK `sailpoint` 2.x
(per-service v1 paths: /access-profiles/v1, /roles/v1, /task-status/v1): CONTRACT §3 and
§4.

Run in .venv-v1 (see setup.sh). The client fixture and the profile builder are shared with
test_v1.py. Models resolved by the shared ApiClient are checked by class name (see the note
in test_v1.py).
"""

import pytest
from sailpoint import AccessProfilesApi, RolesApi, TaskManagementApi
from sailpoint.access_profiles.models import AccessProfileBulkDeleteRequest
from sailpoint.exceptions import ApiException
from sailpoint.roles.models import (AccessProfileRef, JsonPatchOperation, JsonPatchOperationValue,
                                    Role, RoleBulkDeleteRequest)
from sailpoint.roles.models import OwnerReference as RoleOwnerReference

from conftest import (assert_id, assert_in_use_error, assert_isc_error, assert_used_by_role,
                      assert_utc_datetime, header, unique_name, wait_for_task)
# Fixtures (pytest finds them by name in this module) and helpers of the access-profile smoke test.
from test_v1 import client, new_profile, world  # noqa: F401

ROLE_DESCRIPTION = "role created by the SDK smoke test"
ROLE_PATCHED_DESCRIPTION = "role patched by the SDK smoke test"


def create_profile(client, world, family):
    created = AccessProfilesApi(client).create_access_profile_v1_with_http_info(
        new_profile(world, unique_name(family)))
    assert created.status_code == 201, f"create access profile answered {created.status_code}"
    assert type(created.data).__name__ == "AccessProfile", f"expected AccessProfile, got {created.data!r}"
    assert_id(created.data.id, "access profile id")
    return created.data


def assert_role(role, world, name, description, profiles):
    assert isinstance(role, Role), f"expected Role, got {role!r}"
    assert_id(role.id, "role id")
    assert role.name == name
    assert role.description == description
    assert role.owner is not None and role.owner.id == world.owner_id, f"role owner: {role.owner!r}"
    assert role.owner.type == "IDENTITY", f"role owner: {role.owner!r}"
    refs = sorted((r.type, r.id, r.name) for r in role.access_profiles or [])
    assert refs == sorted(("ACCESS_PROFILE", p.id, p.name) for p in profiles), \
        f"role accessProfiles (type, id, name): {refs}"
    assert role.enabled is True
    assert role.requestable is False
    assert_utc_datetime(role.created, "role created")
    assert_utc_datetime(role.modified, "role modified")
    assert role.modified >= role.created


def create_role(client, world, profiles):
    name = unique_name("v1-role")
    body = Role(
        name=name,
        description=ROLE_DESCRIPTION,
        owner=RoleOwnerReference(type="IDENTITY", id=world.owner_id),
        access_profiles=[AccessProfileRef(type="ACCESS_PROFILE", id=p.id) for p in profiles],
        enabled=True,
        requestable=False,
    )
    created = RolesApi(client).create_role_v1_with_http_info(body)
    assert created.status_code == 201, f"create role answered {created.status_code}"
    assert_role(created.data, world, name, ROLE_DESCRIPTION, profiles)
    return created.data


def task_status(client):
    return TaskManagementApi(client).get_task_status_v1


def assert_gone(get, id, what):
    """`get` is a v1 SDK getter; the object must be gone: 404 with the ISC body."""
    try:
        found = get(id)
    except ApiException as e:
        assert_isc_error(e, 404)
        return
    pytest.fail(f"{what} {id} should be gone (404), but GET still returns it: {found!r}")


def test_v1_in_use_profile_is_not_deleted_and_best_effort_deletes_the_rest(client, world):
    profiles = AccessProfilesApi(client)
    a = create_profile(client, world, "v1-del-a")
    b = create_profile(client, world, "v1-del-b")
    role = create_role(client, world, [a])

    # Single delete of A, which the role uses: 400, ISC in-use body, nothing changes (§3.1).
    with pytest.raises(ApiException) as in_use:
        profiles.delete_access_profile_v1_with_http_info(a.id)
    assert_in_use_error(in_use.value, a.name)
    assert type(in_use.value.data).__name__ == "ErrorResponseDto", \
        f"the 400 body did not parse as ErrorResponseDto: data={in_use.value.data!r} body={in_use.value.body!r}"
    assert in_use.value.data.detail_code == "400.2.1.0 Object in use by another"
    assert profiles.get_access_profile_v1(a.id).id == a.id

    # Bulk delete [A, B] without bestEffortOnly (the SDK omits it): 200, nothing deleted (§3.2).
    strict = profiles.delete_access_profiles_in_bulk_v1_with_http_info(
        AccessProfileBulkDeleteRequest(access_profile_ids=[a.id, b.id]))
    assert strict.status_code == 200, f"bulk delete with A in use, no bestEffortOnly: expected 200, got {strict.status_code}"
    assert type(strict.data).__name__ == "AccessProfileBulkDeleteResponse", f"got {strict.data!r}"
    assert strict.data.pending == [], f"pending should be [] when nothing is deleted, got {strict.data.pending!r}"
    assert strict.data.task_id is None, f"no task should run, got taskId {strict.data.task_id!r}"
    assert_used_by_role(strict.data.in_use, a.id, role.id, role.name)
    assert profiles.get_access_profile_v1(a.id).id == a.id
    assert profiles.get_access_profile_v1(b.id).id == b.id, "B was deleted by a bulk delete that should delete nothing"

    # bestEffortOnly=true: 202, a task deletes B, A stays (§3.2, §4).
    best = profiles.delete_access_profiles_in_bulk_v1_with_http_info(
        AccessProfileBulkDeleteRequest(access_profile_ids=[a.id, b.id], best_effort_only=True))
    assert best.status_code == 202, f"bulk delete bestEffortOnly with B unused: expected 202, got {best.status_code}"
    assert type(best.data).__name__ == "AccessProfileBulkDeleteResponse", f"got {best.data!r}"
    assert_id(best.data.task_id, "bulk delete taskId")
    assert best.data.pending == [b.id], f"pending should be [B={b.id}], got {best.data.pending!r}"
    assert_used_by_role(best.data.in_use, a.id, role.id, role.name)
    status = wait_for_task(task_status(client), best.data.task_id, "v1 bulk delete of access profiles")
    assert type(status).__name__ == "TaskStatus", f"expected TaskStatus, got {status!r}"
    assert_gone(profiles.get_access_profile_v1, b.id, "B")
    assert profiles.get_access_profile_v1(a.id).id == a.id, "A is in use and must survive a best-effort delete"

    # Once the role is gone, A is unused: v1 single delete answers 204 with no body (§3.1).
    assert RolesApi(client).delete_role_v1_with_http_info(role.id).status_code == 204
    deleted = profiles.delete_access_profile_v1_with_http_info(a.id)
    assert deleted.status_code == 204, f"v1 delete of an unused profile: expected 204, got {deleted.status_code}"
    assert deleted.data is None
    assert deleted.raw_data == b"", f"204 must have no body, got {deleted.raw_data!r}"
    assert_gone(profiles.get_access_profile_v1, a.id, "A")

    # Unknown id: 404 with the ISC body.
    with pytest.raises(ApiException) as unknown:
        profiles.delete_access_profile_v1(a.id)
    assert_isc_error(unknown.value, 404)


def test_v1_unknown_task_is_404(client):
    # get-task-status v1 maps 404 to None but still raises.
    with pytest.raises(ApiException) as unknown:
        TaskManagementApi(client).get_task_status_v1("0" * 32)
    assert_isc_error(unknown.value, 404)


def test_v1_role_crud(client, world):
    roles = RolesApi(client)
    profile = create_profile(client, world, "v1-role-ap")
    role = create_role(client, world, [profile])

    listed = roles.list_roles_v1_with_http_info(filters=f'name eq "{role.name}"', count=True)
    assert listed.status_code == 200
    assert [r.id for r in listed.data] == [role.id], f"filters=name eq \"{role.name}\" gave {[r.id for r in listed.data]}"
    assert header(listed.headers, "X-Total-Count") == "1", f"X-Total-Count in {listed.headers}"
    assert_role(listed.data[0], world, role.name, ROLE_DESCRIPTION, [profile])

    got = roles.get_role_v1_with_http_info(role.id)
    assert got.status_code == 200
    assert_role(got.data, world, role.name, ROLE_DESCRIPTION, [profile])
    assert got.data.created == role.created

    patch = [JsonPatchOperation(op="replace", path="/description",
                                value=JsonPatchOperationValue(ROLE_PATCHED_DESCRIPTION))]
    patched = roles.patch_role_v1_with_http_info(role.id, patch)
    assert patched.status_code == 200
    assert_role(patched.data, world, role.name, ROLE_PATCHED_DESCRIPTION, [profile])
    assert patched.data.created == role.created
    assert patched.data.modified >= role.modified

    deleted = roles.delete_role_v1_with_http_info(role.id)
    assert deleted.status_code == 204, f"v1 delete role: expected 204, got {deleted.status_code}"
    assert deleted.data is None
    assert_gone(roles.get_role_v1, role.id, "deleted role")
    assert AccessProfilesApi(client).delete_access_profile_v1_with_http_info(profile.id).status_code == 204

    r2 = create_role(client, world, [])
    r3 = create_role(client, world, [])
    bulk = roles.delete_bulk_roles_v1_with_http_info(RoleBulkDeleteRequest(role_ids=[r2.id, r3.id]))
    assert bulk.status_code == 202, f"v1 bulk delete roles: expected 202, got {bulk.status_code}"
    assert type(bulk.data).__name__ == "TaskResultDto", f"expected TaskResultDto, got {bulk.data!r} (raw {bulk.raw_data!r})"
    assert bulk.data.type == "TASK_RESULT", f"task reference: {bulk.data!r}"
    assert_id(bulk.data.id, "role bulk delete task id")
    wait_for_task(task_status(client), bulk.data.id, "v1 bulk delete of roles")
    assert_gone(roles.get_role_v1, r2.id, "bulk-deleted role")
    assert_gone(roles.get_role_v1, r3.id, "bulk-deleted role")

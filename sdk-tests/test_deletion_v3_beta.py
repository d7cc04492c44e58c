"""Deleting access profiles, and roles, through the official Python SDK `sailpoint==1.4.2`
(sailpoint.v3, sailpoint.beta): CONTRACT §3 and §4.

Run in .venv-v3 (see setup.sh). The SDK fixtures and the profile builder are shared with
test_v3_beta.py. v3 has no task-status API; tasks are followed through beta's, as the SDK
docs of the v3 bulk deletes say.
"""

import json

import pytest
import sailpoint.beta as beta
import sailpoint.v3 as v3

from conftest import (assert_id, assert_in_use_error, assert_isc_error, assert_used_by_role,
                      assert_utc_datetime, header, unique_name, wait_for_task)
# Fixtures (pytest finds them by name in this module) and helpers of the access-profile smoke test.
from test_v3_beta import beta_client, beta_world, configuration, new_profile, v3_client, v3_world  # noqa: F401

ROLE_DESCRIPTION = "role created by the SDK smoke test"
ROLE_PATCHED_DESCRIPTION = "role patched by the SDK smoke test"


def create_profile(sdk, client, world, family):
    created = sdk.AccessProfilesApi(client).create_access_profile_with_http_info(
        new_profile(sdk, world, unique_name(family)))
    assert created.status_code == 201, f"create access profile answered {created.status_code}"
    assert isinstance(created.data, sdk.AccessProfile), f"expected AccessProfile, got {created.data!r}"
    assert_id(created.data.id, "access profile id")
    return created.data


def new_role(world, name, profiles):
    return v3.Role(
        name=name,
        description=ROLE_DESCRIPTION,
        owner=v3.OwnerReference(type="IDENTITY", id=world.owner_id),
        access_profiles=[v3.AccessProfileRef(type="ACCESS_PROFILE", id=p.id) for p in profiles],
        enabled=True,
        requestable=False,
    )


def assert_role(role, world, name, description, profiles):
    assert isinstance(role, v3.Role), f"expected Role, got {role!r}"
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


def create_role(v3_client, world, profiles):
    name = unique_name("v3-role")
    created = v3.RolesApi(v3_client).create_role_with_http_info(new_role(world, name, profiles))
    assert created.status_code == 201, f"create role answered {created.status_code}"
    assert_role(created.data, world, name, ROLE_DESCRIPTION, profiles)
    return created.data


def beta_task_status(beta_client):
    return beta.TaskManagementApi(beta_client).get_task_status


def assert_gone(get, id, what):
    """`get` is a v3 SDK getter; the object must be gone: 404 with the ISC body."""
    try:
        found = get(id)
    except v3.ApiException as e:
        assert_isc_error(e, 404)
        return
    pytest.fail(f"{what} {id} should be gone (404), but GET still returns it: {found!r}")


def test_v3_in_use_profile_is_not_deleted_and_best_effort_deletes_the_rest(v3_client, beta_client, v3_world):
    profiles = v3.AccessProfilesApi(v3_client)
    a = create_profile(v3, v3_client, v3_world, "v3-del-a")
    b = create_profile(v3, v3_client, v3_world, "v3-del-b")
    role = create_role(v3_client, v3_world, [a])

    # Single delete of A, which the role uses: 400, ISC in-use body, nothing changes (§3.1).
    with pytest.raises(v3.ApiException) as in_use:
        profiles.delete_access_profile_with_http_info(a.id)
    assert_in_use_error(in_use.value, a.name)
    # 400 is mapped to ErrorResponseDto: the body must also parse as the SDK's model.
    assert isinstance(in_use.value.data, v3.ErrorResponseDto), \
        f"the 400 body did not parse as ErrorResponseDto: data={in_use.value.data!r} body={in_use.value.body!r}"
    assert in_use.value.data.detail_code == "400.2.1.0 Object in use by another"
    assert profiles.get_access_profile(a.id).id == a.id

    # Bulk delete [A, B] without bestEffortOnly (the SDK omits it): 200, nothing deleted (§3.2).
    strict = profiles.delete_access_profiles_in_bulk_with_http_info(
        v3.AccessProfileBulkDeleteRequest(access_profile_ids=[a.id, b.id]))
    assert strict.status_code == 200, f"bulk delete with A in use, no bestEffortOnly: expected 200, got {strict.status_code}"
    assert isinstance(strict.data, v3.AccessProfileBulkDeleteResponse), f"got {strict.data!r}"
    assert strict.data.pending == [], f"pending should be [] when nothing is deleted, got {strict.data.pending!r}"
    assert strict.data.task_id is None, f"no task should run, got taskId {strict.data.task_id!r}"
    assert_used_by_role(strict.data.in_use, a.id, role.id, role.name)
    assert profiles.get_access_profile(a.id).id == a.id
    assert profiles.get_access_profile(b.id).id == b.id, "B was deleted by a bulk delete that should delete nothing"

    # bestEffortOnly=true: 202, a task deletes B, A stays (§3.2, §4).
    best = profiles.delete_access_profiles_in_bulk_with_http_info(
        v3.AccessProfileBulkDeleteRequest(access_profile_ids=[a.id, b.id], best_effort_only=True))
    assert best.status_code == 202, f"bulk delete bestEffortOnly with B unused: expected 202, got {best.status_code}"
    assert isinstance(best.data, v3.AccessProfileBulkDeleteResponse), f"got {best.data!r}"
    assert_id(best.data.task_id, "bulk delete taskId")
    assert best.data.pending == [b.id], f"pending should be [B={b.id}], got {best.data.pending!r}"
    assert_used_by_role(best.data.in_use, a.id, role.id, role.name)
    wait_for_task(beta_task_status(beta_client), best.data.task_id, "v3 bulk delete of access profiles")
    assert_gone(profiles.get_access_profile, b.id, "B")
    assert profiles.get_access_profile(a.id).id == a.id, "A is in use and must survive a best-effort delete"

    # Once the role is gone, A is unused: v3 single delete answers 204 with no body (§3.1).
    assert v3.RolesApi(v3_client).delete_role_with_http_info(role.id).status_code == 204
    deleted = profiles.delete_access_profile_with_http_info(a.id)
    assert deleted.status_code == 204, f"v3 delete of an unused profile: expected 204, got {deleted.status_code}"
    assert deleted.data is None
    assert deleted.raw_data == b"", f"204 must have no body, got {deleted.raw_data!r}"
    assert_gone(profiles.get_access_profile, a.id, "A")

    # Unknown id: 404 with the ISC body.
    with pytest.raises(v3.ApiException) as unknown:
        profiles.delete_access_profile(a.id)
    assert_isc_error(unknown.value, 404)


def test_beta_single_delete_answers_202_with_a_task_reference(beta_client, beta_world):
    profiles = beta.AccessProfilesApi(beta_client)
    profile = create_profile(beta, beta_client, beta_world, "beta-del")

    deleted = profiles.delete_access_profile_with_http_info(profile.id)
    assert deleted.status_code == 202, f"beta delete of an unused profile: expected 202, got {deleted.status_code}"
    # sailpoint 1.4.2 maps only '204' for beta deleteAccessProfile, so the 202 body never
    # reaches the caller as a model (data is None, no error); SDK users see it in raw_data only.
    assert deleted.data is None, f"sailpoint 1.4.2 maps no 202 here; got {deleted.data!r}"
    try:
        reference = beta.TaskResultDto.from_dict(json.loads(deleted.raw_data))
    except ValueError as e:
        pytest.fail(f"beta 202 body is not a JSON TaskResultDto: {deleted.raw_data!r} ({e})")
    assert reference.type == "TASK_RESULT", f"task reference: {reference!r}"
    assert_id(reference.id, "task reference id")
    assert reference.name is None, f"task reference name should be null: {reference!r}"

    wait_for_task(beta.TaskManagementApi(beta_client).get_task_status, reference.id, "beta single delete")
    with pytest.raises(beta.ApiException) as gone:
        profiles.get_access_profile(profile.id)
    assert_isc_error(gone.value, 404)


def test_beta_single_delete_of_an_in_use_profile_is_400(v3_client, beta_client, v3_world):
    profile = create_profile(v3, v3_client, v3_world, "beta-del-used")
    role = create_role(v3_client, v3_world, [profile])
    with pytest.raises(beta.ApiException) as in_use:
        beta.AccessProfilesApi(beta_client).delete_access_profile_with_http_info(profile.id)
    assert_in_use_error(in_use.value, profile.name)
    assert beta.AccessProfilesApi(beta_client).get_access_profile(profile.id).id == profile.id
    v3.RolesApi(v3_client).delete_role(role.id)


def test_v3_role_crud(v3_client, beta_client, v3_world):
    roles = v3.RolesApi(v3_client)
    profile = create_profile(v3, v3_client, v3_world, "v3-role-ap")
    role = create_role(v3_client, v3_world, [profile])

    listed = roles.list_roles_with_http_info(filters=f'name eq "{role.name}"', count=True)
    assert listed.status_code == 200
    assert [r.id for r in listed.data] == [role.id], f"filters=name eq \"{role.name}\" gave {[r.id for r in listed.data]}"
    assert header(listed.headers, "X-Total-Count") == "1", f"X-Total-Count in {listed.headers}"
    assert_role(listed.data[0], v3_world, role.name, ROLE_DESCRIPTION, [profile])

    got = roles.get_role_with_http_info(role.id)
    assert got.status_code == 200
    assert_role(got.data, v3_world, role.name, ROLE_DESCRIPTION, [profile])
    assert got.data.created == role.created

    patch = [v3.JsonPatchOperation(op="replace", path="/description",
                                   value=v3.JsonPatchOperationValue(ROLE_PATCHED_DESCRIPTION))]
    patched = roles.patch_role_with_http_info(role.id, patch)
    assert patched.status_code == 200
    assert_role(patched.data, v3_world, role.name, ROLE_PATCHED_DESCRIPTION, [profile])
    assert patched.data.created == role.created
    assert patched.data.modified >= role.modified

    deleted = roles.delete_role_with_http_info(role.id)
    assert deleted.status_code == 204, f"v3 delete role: expected 204, got {deleted.status_code}"
    assert deleted.data is None
    assert_gone(roles.get_role, role.id, "deleted role")
    # The profile the role used is unused again.
    assert v3.AccessProfilesApi(v3_client).delete_access_profile_with_http_info(profile.id).status_code == 204

    # Bulk delete: 202 with a TaskResultDto, the task deletes both roles.
    r2 = create_role(v3_client, v3_world, [])
    r3 = create_role(v3_client, v3_world, [])
    bulk = roles.delete_bulk_roles_with_http_info(v3.RoleBulkDeleteRequest(role_ids=[r2.id, r3.id]))
    assert bulk.status_code == 202, f"v3 bulk delete roles: expected 202, got {bulk.status_code}"
    assert isinstance(bulk.data, v3.TaskResultDto), f"expected TaskResultDto, got {bulk.data!r} (raw {bulk.raw_data!r})"
    assert bulk.data.type == "TASK_RESULT", f"task reference: {bulk.data!r}"
    assert_id(bulk.data.id, "role bulk delete task id")
    wait_for_task(beta_task_status(beta_client), bulk.data.id, "v3 bulk delete of roles")
    assert_gone(roles.get_role, r2.id, "bulk-deleted role")
    assert_gone(roles.get_role, r3.id, "bulk-deleted role")

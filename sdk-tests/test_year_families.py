"""The year-versioned families through the official Python SDK `sailpoint==1.4.2`
(sailpoint.v2024 and sailpoint.v2025, paths /v2024/... and /v2025/...): access profiles,
their single (204 in these families) and bulk deletion with the task followed through the
family's own TaskManagementApi, roles, source apps and lifecycle states.

Run in .venv-v3 (see setup.sh). The two modules have the same API and model names, so each
flow is one test parametrized over both. Every source-app operation of these families
sends `X-SailPoint-Experimental: true` by default (the SDK's `x_sail_point_experimental`
parameter defaults to 'true'), and the SDK refuses to send it unless
`configuration.experimental` is True (SDK-NOTES §12, §16), so this module's configuration
sets it.
"""

import json
import os
import types

import pytest
import sailpoint.v2024 as v2024
import sailpoint.v2025 as v2025
from sailpoint.configuration import Configuration, ConfigurationParams

from conftest import (EXPERIMENTAL_HEADER_ERROR, assert_id, assert_in_use_error, assert_isc_error,
                      assert_source_app, assert_used_by_role, assert_utc_datetime, header, log_wire,
                      require_token, unique_name, wait_for_task)
# The access-profile flow and builders of the v3/beta smoke test take the SDK module.
from test_v3_beta import new_profile, patch_value, run_flow, run_segments

FAMILIES = {"v2024": v2024, "v2025": v2025}
ROLE_DESCRIPTION = "role created by the SDK smoke test"
APP_DESCRIPTION = "source app created by the SDK smoke test"
APP_BULK_DESCRIPTION = "source app bulk-updated by the SDK smoke test"
STATE_DESCRIPTION = "lifecycle state created by the SDK smoke test"


def configure(target):
    params = ConfigurationParams()
    params.base_url = target.base_url
    params.client_id = target.client_id
    params.client_secret = target.client_secret
    configuration = Configuration(params)
    require_token(configuration, target)
    configuration.experimental = True
    configuration.suppress_experimental_warnings = True
    return configuration


@pytest.fixture(scope="module")
def configuration(target):
    return configure(target)


def world_of(sdk, client):
    """An owner (GET /public-identities) and a source with entitlements (GET /sources,
    GET /entitlements?filters=source.id eq ...), all read through the family itself."""
    identities = sdk.PublicIdentitiesApi(client).get_public_identities(limit=10)
    assert identities, "GET /public-identities returned no identity to own the profile"
    owner = identities[0]
    assert_id(owner.id, "public identity id")
    sources = sdk.SourcesApi(client).list_sources(limit=50)
    assert sources, "GET /sources returned no source"
    for source in sources:
        entitlements = sdk.EntitlementsApi(client).list_entitlements(
            filters=f'source.id eq "{source.id}"', limit=2)
        if entitlements:
            assert all(e.source.id == source.id for e in entitlements), \
                f"filters=source.id eq returned entitlements of other sources: {[e.source for e in entitlements]}"
            return types.SimpleNamespace(owner_id=owner.id, source_id=source.id, source_name=source.name,
                                         entitlement_ids=[e.id for e in entitlements])
    pytest.fail(f"none of the {len(sources)} sources has entitlements")


@pytest.fixture(scope="module", params=sorted(FAMILIES))
def fam(request, configuration):
    """One family: its name, SDK module, ApiClient and world."""
    sdk = FAMILIES[request.param]
    client = log_wire(sdk.ApiClient(configuration))
    return types.SimpleNamespace(name=request.param, sdk=sdk, client=client, world=world_of(sdk, client))


def value(sdk, v):
    return patch_value(sdk)(v)


def create_profile(fam, label):
    created = fam.sdk.AccessProfilesApi(fam.client).create_access_profile_with_http_info(
        new_profile(fam.sdk, fam.world, unique_name(f"{fam.name}-{label}")))
    assert created.status_code == 201, f"create access profile answered {created.status_code}"
    assert_id(created.data.id, "access profile id")
    return created.data


def assert_gone(fam, get, id, what):
    try:
        found = get(id)
    except fam.sdk.ApiException as e:
        assert_isc_error(e, 404)
        return
    pytest.fail(f"{what} {id} should be gone (404), but GET still returns it: {found!r}")


def assert_deleted_204(deleted, what):
    assert deleted.status_code == 204, f"{what}: expected 204, got {deleted.status_code}"
    assert deleted.data is None and deleted.raw_data == b"", f"{what}: 204 must have no body, got {deleted.raw_data!r}"


# ---- access profiles -------------------------------------------------------------------------

def test_access_profile_crud_list_and_single_delete(fam):
    api = fam.sdk.AccessProfilesApi(fam.client)
    # create 201, get, patch, list with filters and count, sorters, entitlements, unknown id 404
    run_flow(fam.sdk, fam.client, fam.world, fam.name)

    prefix = unique_name(f"{fam.name}-list")
    first = api.create_access_profile(new_profile(fam.sdk, fam.world, f"{prefix}-a"))
    second = api.create_access_profile(new_profile(fam.sdk, fam.world, f"{prefix}-b"))
    listed = api.list_access_profiles_with_http_info(
        filters=f'name sw "{prefix}" and source.id eq "{fam.world.source_id}" and requestable eq true',
        sorters="-name", count=True, limit=1)
    assert listed.status_code == 200
    assert [p.id for p in listed.data] == [second.id], f"limit=1, sorters=-name: {[p.name for p in listed.data]}"
    assert header(listed.headers, "X-Total-Count") == "2", f"X-Total-Count in {listed.headers}"
    by_ids = api.list_access_profiles(filters=f'id in ("{first.id}", "{second.id}")', sorters="name")
    assert [p.id for p in by_ids] == [first.id, second.id]

    # Single delete: 204 with no body in these families (the seed's 202 is beta's).
    for profile in (first, second):
        assert_deleted_204(api.delete_access_profile_with_http_info(profile.id), f"{fam.name} delete access profile")
        assert_gone(fam, api.get_access_profile, profile.id, "deleted access profile")
    assert api.list_access_profiles(filters=f'name sw "{prefix}"', count=True) == []
    with pytest.raises(fam.sdk.ApiException) as again:
        api.delete_access_profile(first.id)
    assert_isc_error(again.value, 404)


def test_segments_narrow_the_access_profile_list(fam):
    run_segments(fam.sdk, fam.client, fam.world, fam.name)


def test_entitlements_and_identities_are_read(fam):
    entitlements = fam.sdk.EntitlementsApi(fam.client)
    for entitlement_id in fam.world.entitlement_ids:
        got = entitlements.get_entitlement_with_http_info(entitlement_id)
        assert got.status_code == 200
        assert got.data.id == entitlement_id and got.data.source.id == fam.world.source_id, f"{got.data!r}"
    identities = fam.sdk.IdentitiesApi(fam.client)
    listed = identities.list_identities_with_http_info(limit=50, count=True)
    assert listed.status_code == 200 and listed.data, "GET /identities returned no identity"
    assert int(header(listed.headers, "X-Total-Count")) >= len(listed.data)
    assert fam.world.owner_id in [i.id for i in listed.data], "the public identity that owns profiles is an identity"
    owner = identities.get_identity(fam.world.owner_id)
    assert owner.id == fam.world.owner_id and owner.name, f"{owner!r}"
    with pytest.raises(fam.sdk.ApiException) as unknown:
        identities.get_identity("0" * 32)
    assert_isc_error(unknown.value, 404)


def test_governance_groups_and_their_members(fam):
    groups = fam.sdk.GovernanceGroupsApi(fam.client)
    members = [i.id for i in fam.sdk.IdentitiesApi(fam.client).list_identities(limit=50)
               if i.id != fam.world.owner_id][:2]
    assert len(members) == 2, "the demo tenant has more than two identities"
    identity = fam.sdk.IdentityPreviewResponseIdentity
    name = unique_name(f"{fam.name}-group")

    def new_group(group_name):
        created = groups.create_workgroup_with_http_info(fam.sdk.WorkgroupDto(
            name=group_name, description="governance group created by the SDK smoke test",
            owner=fam.sdk.WorkgroupDtoOwner(type="IDENTITY", id=fam.world.owner_id)))
        assert created.status_code == 200, f"create workgroup: expected 200, got {created.status_code}"
        assert_id(created.data.id, "workgroup id")
        assert (created.data.name, created.data.owner.id, created.data.member_count) == (group_name, fam.world.owner_id, 0), \
            f"{created.data!r}"
        return created.data

    group = new_group(name)
    assert groups.get_workgroup(group.id) == group
    listed = groups.list_workgroups_with_http_info(filters=f'name eq "{name}"', count=True)
    assert [g.id for g in listed.data] == [group.id] and header(listed.headers, "X-Total-Count") == "1"

    added = groups.update_workgroup_members_with_http_info(group.id, [identity(type="IDENTITY", id=m) for m in members])
    assert added.status_code == 207, f"bulk-add members: expected 207, got {added.status_code}"
    assert sorted((x.id, x.status) for x in added.data) == sorted((m, 201) for m in members), f"{added.data!r}"
    again = groups.update_workgroup_members(group.id, [identity(type="IDENTITY", id=members[0])])
    assert [(x.id, x.status) for x in again] == [(members[0], 409)], f"adding a member twice: {again!r}"
    listed_members = groups.list_workgroup_members_with_http_info(group.id, count=True)
    assert sorted(m.id for m in listed_members.data) == sorted(members)
    assert header(listed_members.headers, "X-Total-Count") == "2"
    assert groups.get_workgroup(group.id).member_count == 2

    removed = groups.delete_workgroup_members_with_http_info(group.id, [identity(type="IDENTITY", id=members[0])])
    assert removed.status_code == 207 and [(x.id, x.status) for x in removed.data] == [(members[0], 204)], \
        f"bulk-delete members: {removed.status_code} {removed.data!r}"
    assert [m.id for m in groups.list_workgroup_members(group.id)] == [members[1]]

    patched = groups.patch_workgroup(group.id, [fam.sdk.JsonPatchOperation(
        op="replace", path="/description", value=value(fam.sdk, "patched"))])
    assert patched.description == "patched" and groups.get_workgroup(group.id).description == "patched"

    assert_deleted_204(groups.delete_workgroup_with_http_info(group.id), "delete workgroup")
    assert_gone(fam, groups.get_workgroup, group.id, "deleted workgroup")
    doomed = [new_group(f"{name}-bulk-{i}") for i in (1, 2)]
    bulk = groups.delete_workgroups_in_bulk_with_http_info(
        fam.sdk.WorkgroupBulkDeleteRequest(ids=[g.id for g in doomed]))
    assert bulk.status_code == 207, f"bulk delete workgroups: expected 207, got {bulk.status_code}"
    assert sorted((x.id, x.status) for x in bulk.data) == sorted((g.id, 204) for g in doomed), f"{bulk.data!r}"
    for g in doomed:
        assert_gone(fam, groups.get_workgroup, g.id, "bulk-deleted workgroup")


# ---- roles and deletion -----------------------------------------------------------------------

def new_role(fam, name, profiles):
    sdk = fam.sdk
    return sdk.Role(
        name=name,
        description=ROLE_DESCRIPTION,
        owner=sdk.OwnerReference(type="IDENTITY", id=fam.world.owner_id),
        access_profiles=[sdk.AccessProfileRef(type="ACCESS_PROFILE", id=p.id) for p in profiles],
        enabled=True,
        requestable=False,
    )


def assert_role(fam, role, name, description, profiles):
    assert isinstance(role, fam.sdk.Role), f"expected Role, got {role!r}"
    assert_id(role.id, "role id")
    assert (role.name, role.description) == (name, description)
    assert role.owner is not None and (role.owner.type, role.owner.id) == ("IDENTITY", fam.world.owner_id), \
        f"role owner: {role.owner!r}"
    refs = sorted((r.type, r.id, r.name) for r in role.access_profiles or [])
    assert refs == sorted(("ACCESS_PROFILE", p.id, p.name) for p in profiles), f"role accessProfiles: {refs}"
    assert role.enabled is True and role.requestable is False
    assert_utc_datetime(role.created, "role created")
    assert_utc_datetime(role.modified, "role modified")
    assert role.modified >= role.created


def create_role(fam, profiles):
    name = unique_name(f"{fam.name}-role")
    created = fam.sdk.RolesApi(fam.client).create_role_with_http_info(new_role(fam, name, profiles))
    assert created.status_code == 201, f"create role answered {created.status_code}"
    assert_role(fam, created.data, name, ROLE_DESCRIPTION, profiles)
    return created.data


def task_status(fam):
    return fam.sdk.TaskManagementApi(fam.client).get_task_status


def test_bulk_delete_keeps_the_profile_in_use_and_a_task_deletes_the_rest(fam):
    profiles = fam.sdk.AccessProfilesApi(fam.client)
    a = create_profile(fam, "del-a")
    b = create_profile(fam, "del-b")
    role = create_role(fam, [a])

    with pytest.raises(fam.sdk.ApiException) as in_use:
        profiles.delete_access_profile(a.id)
    assert_in_use_error(in_use.value, a.name)
    assert isinstance(in_use.value.data, fam.sdk.ErrorResponseDto), \
        f"the 400 body did not parse as ErrorResponseDto: data={in_use.value.data!r} body={in_use.value.body!r}"
    assert profiles.get_access_profile(a.id).id == a.id

    # Without bestEffortOnly: 200, nothing deleted, no task.
    strict = profiles.delete_access_profiles_in_bulk_with_http_info(
        fam.sdk.AccessProfileBulkDeleteRequest(access_profile_ids=[a.id, b.id]))
    assert strict.status_code == 200, f"bulk delete with A in use: expected 200, got {strict.status_code}"
    assert strict.data.pending == [] and strict.data.task_id is None, f"nothing may be deleted: {strict.data!r}"
    assert_used_by_role(strict.data.in_use, a.id, role.id, role.name)
    assert profiles.get_access_profile(b.id).id == b.id, "B was deleted by a bulk delete that should delete nothing"

    # bestEffortOnly: 202, a task deletes B, followed through this family's task API.
    best = profiles.delete_access_profiles_in_bulk_with_http_info(
        fam.sdk.AccessProfileBulkDeleteRequest(access_profile_ids=[a.id, b.id], best_effort_only=True))
    assert best.status_code == 202, f"bulk delete bestEffortOnly: expected 202, got {best.status_code}"
    assert_id(best.data.task_id, "bulk delete taskId")
    assert best.data.pending == [b.id], f"pending should be [B={b.id}], got {best.data.pending!r}"
    assert_used_by_role(best.data.in_use, a.id, role.id, role.name)
    done = wait_for_task(task_status(fam), best.data.task_id, f"{fam.name} bulk delete of access profiles")
    assert isinstance(done, fam.sdk.TaskStatus), f"expected {fam.name} TaskStatus, got {done!r}"
    assert_gone(fam, profiles.get_access_profile, b.id, "B")
    assert profiles.get_access_profile(a.id).id == a.id, "A is in use and must survive a best-effort delete"

    assert_deleted_204(fam.sdk.RolesApi(fam.client).delete_role_with_http_info(role.id), "delete role")
    assert_deleted_204(profiles.delete_access_profile_with_http_info(a.id), "delete A once unused")
    assert_gone(fam, profiles.get_access_profile, a.id, "A")


def test_role_crud_and_bulk_delete(fam):
    roles = fam.sdk.RolesApi(fam.client)
    profile = create_profile(fam, "role-ap")
    role = create_role(fam, [profile])

    listed = roles.list_roles_with_http_info(filters=f'name eq "{role.name}"', count=True)
    assert listed.status_code == 200
    assert [r.id for r in listed.data] == [role.id], f"filters=name eq gave {[r.id for r in listed.data]}"
    assert header(listed.headers, "X-Total-Count") == "1", f"X-Total-Count in {listed.headers}"
    assert_role(fam, listed.data[0], role.name, ROLE_DESCRIPTION, [profile])
    got = roles.get_role(role.id)
    assert_role(fam, got, role.name, ROLE_DESCRIPTION, [profile])
    assert got.created == role.created

    patched = roles.patch_role_with_http_info(role.id, [fam.sdk.JsonPatchOperation(
        op="replace", path="/description", value=value(fam.sdk, "role patched by the SDK smoke test"))])
    assert patched.status_code == 200
    assert_role(fam, patched.data, role.name, "role patched by the SDK smoke test", [profile])
    assert roles.get_role(role.id).description == "role patched by the SDK smoke test"

    assert_deleted_204(roles.delete_role_with_http_info(role.id), "delete role")
    assert_gone(fam, roles.get_role, role.id, "deleted role")
    assert_deleted_204(fam.sdk.AccessProfilesApi(fam.client).delete_access_profile_with_http_info(profile.id),
                       "delete the profile the role used")

    r2, r3 = create_role(fam, []), create_role(fam, [])
    bulk = roles.delete_bulk_roles_with_http_info(fam.sdk.RoleBulkDeleteRequest(role_ids=[r2.id, r3.id]))
    assert bulk.status_code == 202, f"bulk delete roles: expected 202, got {bulk.status_code}"
    assert isinstance(bulk.data, fam.sdk.TaskResultDto) and bulk.data.type == "TASK_RESULT", \
        f"expected a TaskResultDto, got {bulk.data!r} (raw {bulk.raw_data!r})"
    wait_for_task(task_status(fam), bulk.data.id, f"{fam.name} bulk delete of roles")
    assert_gone(fam, roles.get_role, r2.id, "bulk-deleted role")
    assert_gone(fam, roles.get_role, r3.id, "bulk-deleted role")


# ---- source apps ------------------------------------------------------------------------------

def replace_profiles(fam, profile_ids):
    """`replace /accessProfiles` with a list of ids: as on beta (SDK-NOTES §15), the
    validated wrapper cannot serialise a list of strings, so it is built unvalidated."""
    return fam.sdk.JsonPatchOperation(op="replace", path="/accessProfiles",
                                      value=patch_value(fam.sdk).model_construct(
                                          actual_instance=list(profile_ids)))


def create_app(fam, name):
    created = fam.sdk.AppsApi(fam.client).create_source_app_with_http_info(fam.sdk.SourceAppCreateDto(
        name=name,
        description=APP_DESCRIPTION,
        account_source=fam.sdk.SourceAppCreateDtoAccountSource(
            id=fam.world.source_id, type="SOURCE", name=fam.world.source_name),
    ))
    assert created.status_code == 200, f"create source app: expected 200, got {created.status_code}"
    assert isinstance(created.data, fam.sdk.SourceApp), f"expected SourceApp, got {created.data!r}"
    assert_source_app(created.data, fam.world, name, APP_DESCRIPTION)
    return created.data


def test_source_apps_with_access_profiles_and_bulk_remove(fam):
    apps = fam.sdk.AppsApi(fam.client)
    profiles = fam.sdk.AccessProfilesApi(fam.client)
    prefix = unique_name(f"{fam.name}-app")
    a = create_profile(fam, "app-a")
    b = create_profile(fam, "app-b")
    app = create_app(fam, f"{prefix}-held")
    other = create_app(fam, f"{prefix}-empty")

    got = apps.get_source_app_with_http_info(app.id)
    assert got.status_code == 200
    assert (got.data.id, got.data.cloud_app_id, got.data.created) == (app.id, app.cloud_app_id, app.created)
    assert apps.list_access_profiles_for_source_app(app.id) == [], "a new app holds no access profiles"

    patched = apps.patch_source_app_with_http_info(app.id, [replace_profiles(fam, [a.id, b.id])])
    assert patched.status_code == 200
    assert isinstance(patched.data, fam.sdk.SourceAppPatchDto), f"expected SourceAppPatchDto, got {patched.data!r}"
    assert patched.data.access_profiles == [a.id, b.id], f"accessProfiles after the patch: {patched.data.access_profiles!r}"
    held = apps.list_access_profiles_for_source_app(app.id)
    assert [d.id for d in held] == [a.id, b.id]
    assert all(isinstance(d, fam.sdk.AccessProfileDetails) and type(d.app_id) is int for d in held), f"{held!r}"
    only_a = apps.list_access_profiles_for_source_app(app.id, filters=f'id eq "{a.id}"')
    assert [d.id for d in only_a] == [a.id]

    # Bulk remove B: 200 with what the app still holds; B itself stays.
    removed = apps.delete_access_profiles_from_source_app_by_bulk_with_http_info(app.id, [b.id], limit=250)
    assert removed.status_code == 200, f"bulk remove: expected 200, got {removed.status_code}"
    assert [d.id for d in removed.data] == [a.id], f"bulk remove should answer [A], got {[d.id for d in removed.data]}"
    assert [d.id for d in apps.list_access_profiles_for_source_app(app.id)] == [a.id]
    assert profiles.get_access_profile(b.id).id == b.id, "bulk remove must only unlink the profile"
    with pytest.raises(fam.sdk.ApiException) as not_on_app:
        apps.delete_access_profiles_from_source_app_by_bulk(app.id, [a.id, b.id])
    assert b.id in json.dumps(assert_isc_error(not_on_app.value, 400)), "the 400 should name the profile not on the app"
    assert [d.id for d in apps.list_access_profiles_for_source_app(app.id)] == [a.id], "a rejected bulk remove removes nothing"

    # The app holds A: A is in use.
    with pytest.raises(fam.sdk.ApiException) as in_use:
        profiles.delete_access_profile(a.id)
    assert_in_use_error(in_use.value, a.name)

    # Lists: new apps are disabled (listed by /all only) until the bulk update enables them.
    def names(listing):
        return sorted(x.name for x in listing(filters=f'name sw "{prefix}"'))
    assert names(apps.list_all_source_app) == sorted([app.name, other.name])
    assert names(apps.list_available_source_apps) == []
    assert names(apps.list_assigned_source_app) == []
    updated = apps.update_source_apps_in_bulk_with_http_info(fam.sdk.SourceAppBulkUpdateRequest(
        app_ids=[app.id, other.id], json_patch=[
            fam.sdk.JsonPatchOperation(op="replace", path="/enabled", value=value(fam.sdk, True)),
            fam.sdk.JsonPatchOperation(op="replace", path="/provisionRequestEnabled", value=value(fam.sdk, True)),
            fam.sdk.JsonPatchOperation(op="replace", path="/description", value=value(fam.sdk, APP_BULK_DESCRIPTION)),
        ]))
    assert updated.status_code == 204, f"bulk update: expected 204, got {updated.status_code}"
    for x in (app, other):
        assert_source_app(apps.get_source_app(x.id), fam.world, x.name, APP_BULK_DESCRIPTION,
                          enabled=True, provision_request_enabled=True)
    assert names(apps.list_available_source_apps) == sorted([app.name, other.name])
    assert names(apps.list_assigned_source_app) == [app.name], "only the app holding a requestable profile is assigned"

    # Let go of A (remove /accessProfiles/0), delete it, delete the apps (200 with the app).
    emptied = apps.patch_source_app(app.id, [fam.sdk.JsonPatchOperation(op="remove", path="/accessProfiles/0")])
    assert emptied.access_profiles == []
    for profile in (a, b):
        assert_deleted_204(profiles.delete_access_profile_with_http_info(profile.id), "delete a released profile")
    for x in (app, other):
        deleted = apps.delete_source_app_with_http_info(x.id)
        assert deleted.status_code == 200 and deleted.data.id == x.id, f"delete source app: {deleted.status_code} {deleted.data!r}"
        assert_gone(fam, apps.get_source_app, x.id, "deleted source app")


def test_source_apps_refuse_a_request_without_the_experimental_header(fam):
    """`X-SailPoint-Experimental` is required on all ten /source-apps operations of these
    families; the SDK sends whatever x_sail_point_experimental says, so "false" reaches the
    server, which answers 400 with the exact body of CONTRACT §3.3 and changes nothing."""
    apps = fam.sdk.AppsApi(fam.client)
    profile = create_profile(fam, "hdr-ap")
    app = create_app(fam, unique_name(f"{fam.name}-hdr"))
    off = {"x_sail_point_experimental": "false"}
    patch = [fam.sdk.JsonPatchOperation(op="replace", path="/description", value=value(fam.sdk, "changed"))]
    calls = {
        "listAvailableSourceApps": lambda: apps.list_available_source_apps(**off),
        "createSourceApp": lambda: apps.create_source_app(fam.sdk.SourceAppCreateDto(
            name=unique_name(f"{fam.name}-hdr-new"), description=APP_DESCRIPTION,
            account_source=fam.sdk.SourceAppCreateDtoAccountSource(id=fam.world.source_id)), **off),
        "listAllSourceApp": lambda: apps.list_all_source_app(**off),
        "listAssignedSourceApp": lambda: apps.list_assigned_source_app(**off),
        "updateSourceAppsInBulk": lambda: apps.update_source_apps_in_bulk(
            fam.sdk.SourceAppBulkUpdateRequest(app_ids=[app.id], json_patch=patch), **off),
        "getSourceApp": lambda: apps.get_source_app(app.id, **off),
        "patchSourceApp": lambda: apps.patch_source_app(app.id, patch, **off),
        "deleteSourceApp": lambda: apps.delete_source_app(app.id, **off),
        "listAccessProfilesForSourceApp": lambda: apps.list_access_profiles_for_source_app(app.id, **off),
        "deleteAccessProfilesFromSourceAppByBulk": lambda: apps.delete_access_profiles_from_source_app_by_bulk(
            app.id, [profile.id], **off),
    }
    for operation, call in calls.items():
        with pytest.raises(fam.sdk.ApiException) as refused:
            call()
        assert refused.value.status == 400, f"{operation} without the header: {refused.value.status} {refused.value.body}"
        assert json.loads(refused.value.body) == EXPERIMENTAL_HEADER_ERROR, f"{operation}: {refused.value.body}"
    # Nothing changed: the app is still there as created, and no app of that name was made.
    assert_source_app(apps.get_source_app(app.id), fam.world, app.name, APP_DESCRIPTION)
    assert apps.list_all_source_app(filters=f'name sw "sdk-smoke-{fam.name}-hdr-new"') == []
    assert apps.delete_source_app_with_http_info(app.id).status_code == 200
    assert_deleted_204(fam.sdk.AccessProfilesApi(fam.client).delete_access_profile_with_http_info(profile.id),
                       "delete the profile")


# ---- lifecycle states -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def identity_profile_id():
    """The demo tenant's identity profile. No operation of our spec cut lists identity
    profiles, so scripts/sdk-smoke.sh reads its id from `accessd export`."""
    value = os.environ.get("ACCESSD_IDENTITY_PROFILE_ID")
    if not value:
        pytest.fail("set ACCESSD_IDENTITY_PROFILE_ID (scripts/sdk-smoke.sh sets it from `accessd export`)",
                    pytrace=False)
    return value


def test_lifecycle_states(fam, identity_profile_id):
    states = fam.sdk.LifecycleStatesApi(fam.client)
    profile = create_profile(fam, "lcs-ap")

    demo = states.get_lifecycle_states_with_http_info(identity_profile_id, count=True, sorters="name")
    assert demo.status_code == 200
    assert len(demo.data) >= 2, f"the demo identity profile has 2 lifecycle states, got {demo.data!r}"
    assert header(demo.headers, "X-Total-Count") == str(len(demo.data))
    assert [s.name for s in demo.data] == sorted(s.name for s in demo.data), "sorters=name"

    name = unique_name(f"{fam.name}-lcs")
    technical = name.replace("-", "_")
    created = states.create_lifecycle_state_with_http_info(identity_profile_id, fam.sdk.LifecycleState(
        name=name, technical_name=technical, description=STATE_DESCRIPTION, enabled=True,
        access_profile_ids=[profile.id]))
    assert created.status_code == 201, f"create lifecycle state: expected 201, got {created.status_code}"
    state = created.data
    assert isinstance(state, fam.sdk.LifecycleState), f"expected LifecycleState, got {state!r}"
    assert_id(state.id, "lifecycle state id")
    assert (state.name, state.technical_name, state.description, state.enabled) == (name, technical, STATE_DESCRIPTION, True)
    assert state.access_profile_ids == [profile.id]
    assert_utc_datetime(state.created, "lifecycle state created")

    got = states.get_lifecycle_state(identity_profile_id, state.id)
    assert (got.id, got.name, got.access_profile_ids) == (state.id, name, [profile.id])
    listed = states.get_lifecycle_states(identity_profile_id)
    assert state.id in [s.id for s in listed] and len(listed) == len(demo.data) + 1

    # The state holds the profile: the profile is in use.
    with pytest.raises(fam.sdk.ApiException) as in_use:
        fam.sdk.AccessProfilesApi(fam.client).delete_access_profile(profile.id)
    assert_in_use_error(in_use.value, profile.name)

    updated = states.update_lifecycle_states_with_http_info(identity_profile_id, state.id, [
        fam.sdk.JsonPatchOperation(op="replace", path="/description", value=value(fam.sdk, "patched")),
        fam.sdk.JsonPatchOperation(op="replace", path="/enabled", value=value(fam.sdk, False)),
        fam.sdk.JsonPatchOperation(op="replace", path="/accessProfileIds",
                                   value=patch_value(fam.sdk).model_construct(actual_instance=[])),
    ])
    assert updated.status_code == 200
    assert (updated.data.description, updated.data.enabled, updated.data.access_profile_ids) == ("patched", False, [])
    again = states.get_lifecycle_state(identity_profile_id, state.id)
    assert (again.description, again.enabled, again.access_profile_ids) == ("patched", False, [])

    deleted = states.delete_lifecycle_state_with_http_info(identity_profile_id, state.id)
    assert deleted.status_code == 202, f"delete lifecycle state: expected 202, got {deleted.status_code}"
    assert_gone(fam, lambda id: states.get_lifecycle_state(identity_profile_id, id), state.id, "deleted lifecycle state")
    assert len(states.get_lifecycle_states(identity_profile_id)) == len(demo.data)
    assert_deleted_204(fam.sdk.AccessProfilesApi(fam.client).delete_access_profile_with_http_info(profile.id),
                       "delete the profile the state released")

"""Source apps through the official Python SDK `sailpoint` 2.x (`sailpoint.AppsApi`, paths
/source-apps/v1...): docs/source-apps.md, CONTRACT §3.3.

Run in .venv-v1 (see setup.sh). The client fixture and the profile builder are shared with
test_v1.py. The access profiles the apps hold are created (and deleted) here through
/access-profiles/v1 on the demo source `world` picked, so the demo's own profiles are never
touched. Models resolved by the shared ApiClient are checked by class name (see test_v1.py).

Every /source-apps/v1 operation requires `X-SailPoint-Experimental: true`. sailpoint 2.x does
not send it by default: each AppsApi method takes `x_sail_point_experimental`, and the SDK
refuses to send that header unless `configuration.experimental` is True (SDK-NOTES §12, §15).
"""

import json
import re
import types
import warnings

import pytest
from sailpoint import AccessProfilesApi, ApiClient, AppsApi, Configuration, ConfigurationParams
from sailpoint.access_profiles.models import (AccessProfileApprovalScheme, AccessProfileBulkDeleteRequest,
                                              Requestability)
from sailpoint.apps.models import (JsonPatchOperation, JsonPatchOperationValue, SourceAppBulkUpdateRequest,
                                   SourceAppCreateDto, SourceAppCreateDtoAccountSource)
from sailpoint.exceptions import ApiException

from conftest import (APPLICATION_USAGE_WARNING, assert_access_profile_details,
                      assert_experimental_header_error, assert_id, assert_in_use_error,
                      assert_isc_error, assert_source_app, assert_used_by_application, log_wire,
                      unique_name)
# Fixtures (pytest finds them by name in this module) and helpers of the access-profile smoke test.
from test_v1 import client, new_profile, world  # noqa: F401

APP_DESCRIPTION = "source app created by the SDK smoke test"
APP_BULK_DESCRIPTION = "source app bulk-updated by the SDK smoke test"
# What every AppsApi call here passes; without it the call reaches the server with no header.
X = {"x_sail_point_experimental": "true"}

# Profile A asks for approval by the manager, then the profile owner, and for comments; B asks
# for nothing. AccessProfileDetails renders that as a comma-separated string (docs/source-apps.md):
# MANAGER → manager, OWNER → accessProfileOwner, no schemes → "".
A_APPROVALS = ("MANAGER", "OWNER")
A_APPROVAL_SCHEMES = "manager,accessProfileOwner"


@pytest.fixture(scope="module", autouse=True)
def experimental(client):
    """sailpoint 2.x raises client-side, before sending, when a call carries
    X-SailPoint-Experimental and configuration.experimental is not True; with it True it
    prints a warning per call unless suppress_experimental_warnings."""
    client.configuration.experimental = True
    client.configuration.suppress_experimental_warnings = True
    yield
    client.configuration.experimental = False
    client.configuration.suppress_experimental_warnings = False


@pytest.fixture
def cleanup(client):
    """Deletes what a test created (apps first: they hold the profiles), whatever the outcome.
    404 (already deleted by the test) and 400 (still held after a failure) are ignored."""
    apps, profiles = [], []
    yield apps, profiles
    for app_id in apps:
        try:
            AppsApi(client).delete_source_app_v1(app_id, **X)
        except ApiException as e:
            if e.status not in (400, 404):
                raise
    for profile_id in profiles:
        try:
            AccessProfilesApi(client).delete_access_profile_v1(profile_id)
        except ApiException as e:
            if e.status not in (400, 404):
                raise


def create_profile(client, world, cleanup, family, approvals=()):
    body = new_profile(world, unique_name(family))
    if approvals:
        body.access_request_config = Requestability(
            comments_required=True,
            approval_schemes=[AccessProfileApprovalScheme(approver_type=t) for t in approvals])
    created = AccessProfilesApi(client).create_access_profile_v1_with_http_info(body)
    assert created.status_code == 201, f"create access profile answered {created.status_code}"
    assert_id(created.data.id, "access profile id")
    cleanup[1].append(created.data.id)
    config = created.data.access_request_config
    schemes = tuple(s.approver_type for s in (config.approval_schemes or [])) if config else ()
    assert schemes == tuple(approvals), f"the created profile's approval schemes: {config!r}"
    # What the app's AccessProfileDetails must say about it.
    return types.SimpleNamespace(
        id=created.data.id, name=created.data.name, description=created.data.description,
        expected_details=(A_APPROVAL_SCHEMES, True) if approvals else ("", False))


def create_body(world, name):
    return SourceAppCreateDto(
        name=name,
        description=APP_DESCRIPTION,
        account_source=SourceAppCreateDtoAccountSource(id=world.source_id, type="SOURCE", name=world.source_name),
    )


def create_app(apps, world, cleanup, name):
    created = apps.create_source_app_v1_with_http_info(create_body(world, name), **X)
    assert created.status_code == 200, f"create source app: expected 200 (the SDK maps only 200), got {created.status_code}"
    assert type(created.data).__name__ == "SourceApp", f"expected SourceApp, got {created.data!r} (raw {created.raw_data!r})"
    cleanup[0].append(created.data.id)
    assert_source_app(created.data, world, name, APP_DESCRIPTION)
    return created.data


def add_profile(profile_id):
    return JsonPatchOperation(op="add", path="/accessProfiles/-", value=JsonPatchOperationValue(profile_id))


def replace_profiles(profile_ids):
    """`replace /accessProfiles` with a list of ids. The validated wrapper only takes a list of
    ArrayInner, and ArrayInner("id") crashes in sanitize_for_serialization ('str' object has
    no attribute 'items'), so the SDK cannot send this as documented. model_construct skips the
    validation and serialises to the plain list the spec describes."""
    return JsonPatchOperation(op="replace", path="/accessProfiles",
                              value=JsonPatchOperationValue.model_construct(actual_instance=list(profile_ids)))


def patch(apps, app, operations, world, profile_ids, description=APP_DESCRIPTION, **flags):
    patched = apps.patch_source_app_v1_with_http_info(app.id, operations, **X)
    assert patched.status_code == 200
    assert type(patched.data).__name__ == "SourceAppPatchDto", f"expected SourceAppPatchDto, got {patched.data!r}"
    assert_source_app(patched.data, world, app.name, description, **flags)
    assert patched.data.id == app.id
    assert patched.data.access_profiles == profile_ids, \
        f"accessProfiles after the patch should be {profile_ids}, got {patched.data.access_profiles!r}"
    return patched.data


def assert_details(listed, profiles, world, app):
    assert [d.id for d in listed] == [p.id for p in profiles], \
        f"the app's access profiles should be {[p.id for p in profiles]} in the app's order, got {[d.id for d in listed]}"
    for details, profile in zip(listed, profiles):
        assert_access_profile_details(details, profile, world, app, *profile.expected_details)


def assert_application_usage_warning(caught):
    messages = [str(w.message) for w in caught]
    assert len(messages) == 1 and re.search(APPLICATION_USAGE_WARNING, messages[0]), \
        f"sailpoint 2.x should warn exactly once about the APPLICATION usage type, warned {messages}"


def test_v1_source_app_with_access_profiles(client, world, cleanup):
    apps = AppsApi(client)
    profiles = AccessProfilesApi(client)
    a = create_profile(client, world, cleanup, "v1-app-ap-a", approvals=A_APPROVALS)
    b = create_profile(client, world, cleanup, "v1-app-ap-b")
    app = create_app(apps, world, cleanup, unique_name("v1-app"))

    got = apps.get_source_app_v1_with_http_info(app.id, **X)
    assert got.status_code == 200
    assert_source_app(got.data, world, app.name, APP_DESCRIPTION)
    assert (got.data.id, got.data.cloud_app_id, got.data.created) == (app.id, app.cloud_app_id, app.created)
    assert apps.list_access_profiles_for_source_app_v1(app.id, **X) == [], "a new app holds no access profiles"

    # Attach both profiles by JSON Patch.
    patch(apps, app, [add_profile(a.id), add_profile(b.id)], world, [a.id, b.id])

    listed = apps.list_access_profiles_for_source_app_v1_with_http_info(app.id, **X)
    assert listed.status_code == 200
    assert_details(listed.data, [a, b], world, app)
    only_a = apps.list_access_profiles_for_source_app_v1(app.id, filters=f'id eq "{a.id}"', **X)
    assert [d.id for d in only_a] == [a.id], f'filters=id eq "{a.id}" gave {[d.id for d in only_a]}'

    # Bulk remove B: 200 with what remains; the profile itself stays.
    removed = apps.delete_access_profiles_from_source_app_by_bulk_v1_with_http_info(app.id, [b.id], **X)
    assert removed.status_code == 200, f"bulk remove: expected 200, got {removed.status_code}"
    assert_details(removed.data, [a], world, app)
    assert [d.id for d in apps.list_access_profiles_for_source_app_v1(app.id, **X)] == [a.id]
    assert profiles.get_access_profile_v1(b.id).id == b.id, "bulk remove must only unlink the profile, not delete it"
    # B is no longer on the app: removing it again is a 400 naming it, and removes nothing.
    with pytest.raises(ApiException) as not_on_app:
        apps.delete_access_profiles_from_source_app_by_bulk_v1(app.id, [a.id, b.id], **X)
    body = assert_isc_error(not_on_app.value, 400)
    assert b.id in json.dumps(body), f"the 400 should name {b.id}, the profile not on the app: {body}"
    assert [d.id for d in apps.list_access_profiles_for_source_app_v1(app.id, **X)] == [a.id], \
        "a rejected bulk remove must remove nothing"

    # Replace the whole list (B back in), then remove B again with limit.
    patch(apps, app, [replace_profiles([a.id, b.id])], world, [a.id, b.id])
    removed = apps.delete_access_profiles_from_source_app_by_bulk_v1_with_http_info(app.id, [b.id], limit=250, **X)
    assert removed.status_code == 200
    assert_details(removed.data, [a], world, app)

    # A is held by the app: in use for single and bulk delete.
    with pytest.raises(ApiException) as in_use:
        profiles.delete_access_profile_v1(a.id)
    assert_in_use_error(in_use.value, a.name)
    assert type(in_use.value.data).__name__ == "ErrorResponseDto", \
        f"the 400 body did not parse as ErrorResponseDto: data={in_use.value.data!r} body={in_use.value.body!r}"
    assert in_use.value.data.detail_code == "400.2.1.0 Object in use by another"

    # sailpoint 2.x's AccessProfileUsageUsedByInner.type (access_profiles partition) only knows
    # ROLE: an APPLICATION usage warns (our pytest.ini would turn that into an exception out of
    # the call) but still deserialises with type "APPLICATION".
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        bulk = profiles.delete_access_profiles_in_bulk_v1_with_http_info(
            AccessProfileBulkDeleteRequest(access_profile_ids=[a.id]))
    assert bulk.status_code == 200, f"bulk delete of a profile held by an app: expected 200, got {bulk.status_code}"
    assert bulk.data.pending == [] and bulk.data.task_id is None, f"nothing may be deleted: {bulk.data!r}"
    assert_used_by_application(bulk.data.in_use, a.id, app.id, app.name)
    assert_application_usage_warning(caught)
    assert profiles.get_access_profile_v1(a.id).id == a.id

    # Once the app lets go of A (remove /accessProfiles/0), A can be deleted (v1: 204).
    patch(apps, app, [JsonPatchOperation(op="remove", path="/accessProfiles/0")], world, [])
    assert profiles.delete_access_profile_v1_with_http_info(a.id).status_code == 204
    assert profiles.delete_access_profile_v1_with_http_info(b.id).status_code == 204

    # Delete the app: 200 with the app as it was.
    deleted = apps.delete_source_app_v1_with_http_info(app.id, **X)
    assert deleted.status_code == 200, f"delete source app: expected 200, got {deleted.status_code}"
    assert type(deleted.data).__name__ == "SourceApp", \
        f"delete should answer the app, got {deleted.data!r} (raw {deleted.raw_data!r})"
    assert_source_app(deleted.data, world, app.name, APP_DESCRIPTION)
    assert deleted.data.id == app.id
    with pytest.raises(ApiException) as gone:
        apps.get_source_app_v1(app.id, **X)
    assert_isc_error(gone.value, 404)
    assert type(gone.value.data).__name__ == "ErrorResponseDto", \
        f"the 404 body did not parse as ErrorResponseDto: data={gone.value.data!r} body={gone.value.body!r}"
    with pytest.raises(ApiException) as again:
        apps.delete_source_app_v1(app.id, **X)
    assert_isc_error(again.value, 404)


def test_v1_source_app_lists_and_bulk_update(client, world, cleanup):
    apps = AppsApi(client)
    prefix = unique_name("v1-apps")
    a = create_profile(client, world, cleanup, "v1-apps-ap")
    held = create_app(apps, world, cleanup, f"{prefix}-held")
    empty = create_app(apps, world, cleanup, f"{prefix}-empty")
    patch(apps, held, [add_profile(a.id)], world, [a.id])

    def names(listing, **kwargs):
        found = listing(filters=f'name sw "{prefix}"', **kwargs, **X)
        assert all(type(x).__name__ == "SourceApp" for x in found), f"expected SourceApp items, got {found!r}"
        return sorted(x.name for x in found)

    # New apps are disabled: listed by /all only.
    assert names(apps.list_all_source_app_v1) == sorted([held.name, empty.name])
    assert names(apps.list_available_source_apps_v1) == [], "disabled apps are not available"
    assert names(apps.list_assigned_source_app_v1) == [], "disabled apps are not assigned"
    by_name = apps.list_all_source_app_v1_with_http_info(filters=f'name eq "{held.name}"', **X)
    assert by_name.status_code == 200
    assert [x.id for x in by_name.data] == [held.id], f'filters=name eq "{held.name}" gave {[x.id for x in by_name.data]}'
    assert_source_app(by_name.data[0], world, held.name, APP_DESCRIPTION)

    # Bulk update both: 204, then each get shows the change.
    request = SourceAppBulkUpdateRequest(app_ids=[held.id, empty.id], json_patch=[
        JsonPatchOperation(op="replace", path="/enabled", value=JsonPatchOperationValue(True)),
        JsonPatchOperation(op="replace", path="/provisionRequestEnabled", value=JsonPatchOperationValue(True)),
        JsonPatchOperation(op="replace", path="/description", value=JsonPatchOperationValue(APP_BULK_DESCRIPTION)),
    ])
    updated = apps.update_source_apps_in_bulk_v1_with_http_info(request, **X)
    assert updated.status_code == 204, f"bulk update: expected 204, got {updated.status_code}"
    assert updated.data is None
    for app in (held, empty):
        got = apps.get_source_app_v1(app.id, **X)
        assert_source_app(got, world, app.name, APP_BULK_DESCRIPTION, enabled=True, provision_request_enabled=True)

    # Enabled + provisionRequestEnabled: available. Assigned additionally needs a held
    # enabled and requestable profile, which only `held` has.
    assert names(apps.list_available_source_apps_v1) == sorted([held.name, empty.name])
    assert names(apps.list_assigned_source_app_v1) == [held.name], "only the app holding a requestable profile is assigned"
    descending = apps.list_all_source_app_v1(filters=f'name sw "{prefix}"', sorters="-name", **X)
    assert [x.name for x in descending] == sorted([held.name, empty.name], reverse=True), \
        f"sorters=-name: {[x.name for x in descending]}"

    # Unknown app in a bulk update: 404, and nothing changes (all or nothing).
    with pytest.raises(ApiException) as unknown:
        apps.update_source_apps_in_bulk_v1(SourceAppBulkUpdateRequest(app_ids=[held.id, "0" * 32], json_patch=[
            JsonPatchOperation(op="replace", path="/enabled", value=JsonPatchOperationValue(False))]), **X)
    body = assert_isc_error(unknown.value, 404)
    assert "0" * 32 in json.dumps(body), f"the 404 should name the unknown app id: {body}"
    assert apps.get_source_app_v1(held.id, **X).enabled is True, "a rejected bulk update must change nothing"


def test_v1_source_app_refuses_a_profile_of_another_source(client, world, cleanup):
    apps = AppsApi(client)
    others = [p for p in AccessProfilesApi(client).list_access_profiles_v1(limit=50)
              if p.source is not None and p.source.id != world.source_id]
    assert others, f"the demo tenant should have access profiles on a source other than {world.source_id}"
    other = others[0]
    app = create_app(apps, world, cleanup, unique_name("v1-app-src"))

    with pytest.raises(ApiException) as wrong_source:
        apps.patch_source_app_v1(app.id, [add_profile(other.id)], **X)
    body = assert_isc_error(wrong_source.value, 400)
    text = json.dumps(body)
    assert other.id in text, f"the 400 should name the profile {other.id}: {body}"
    assert other.source.id in text or other.source.name in text, \
        f"the 400 should name the profile's source {other.source.id} ({other.source.name}): {body}"
    assert apps.list_access_profiles_for_source_app_v1(app.id, **X) == [], "a failed patch must change nothing"


def test_v1_source_apps_require_the_experimental_header(client, world, cleanup):
    """The SDK sends X-SailPoint-Experimental only when the caller passes
    x_sail_point_experimental; without it every /source-apps/v1 operation answers 400 with
    exactly {"error":"Experimental Header is missing or invalid."} and does nothing."""
    apps = AppsApi(client)
    a = create_profile(client, world, cleanup, "v1-hdr-ap")
    app = create_app(apps, world, cleanup, unique_name("v1-hdr-app"))
    patch(apps, app, [add_profile(a.id)], world, [a.id])
    ghost = unique_name("v1-hdr-ghost")

    calls = {
        "listAvailableSourceApps": lambda **h: apps.list_available_source_apps_v1(**h),
        "listAllSourceApp": lambda **h: apps.list_all_source_app_v1(**h),
        "listAssignedSourceApp": lambda **h: apps.list_assigned_source_app_v1(**h),
        "createSourceApp": lambda **h: apps.create_source_app_v1(create_body(world, ghost), **h),
        "getSourceApp": lambda **h: apps.get_source_app_v1(app.id, **h),
        "patchSourceApp": lambda **h: apps.patch_source_app_v1(app.id, [JsonPatchOperation(
            op="replace", path="/description", value=JsonPatchOperationValue("changed without the header"))], **h),
        "updateSourceAppsInBulk": lambda **h: apps.update_source_apps_in_bulk_v1(SourceAppBulkUpdateRequest(
            app_ids=[app.id], json_patch=[JsonPatchOperation(op="replace", path="/enabled",
                                                              value=JsonPatchOperationValue(True))]), **h),
        "listAccessProfilesForSourceApp": lambda **h: apps.list_access_profiles_for_source_app_v1(app.id, **h),
        "deleteAccessProfilesFromSourceAppByBulk":
            lambda **h: apps.delete_access_profiles_from_source_app_by_bulk_v1(app.id, [a.id], **h),
        "deleteSourceApp": lambda **h: apps.delete_source_app_v1(app.id, **h),
    }
    for what, call in calls.items():
        for headers in ({}, {"x_sail_point_experimental": "false"}, {"x_sail_point_experimental": "yes"}):
            with pytest.raises(ApiException) as missing:
                call(**headers)
            assert_experimental_header_error(missing.value, f"{what} with {headers or 'no header'}")

    # Nothing happened: the app is unchanged, still holds A, and no app named `ghost` exists.
    after = apps.get_source_app_v1(app.id, **X)
    assert_source_app(after, world, app.name, APP_DESCRIPTION)
    assert [d.id for d in apps.list_access_profiles_for_source_app_v1(app.id, **X)] == [a.id]
    assert apps.list_all_source_app_v1(filters=f'name eq "{ghost}"', **X) == []

    # Authentication comes first: a bad token without the header is 401, not 400.
    params = ConfigurationParams()
    params.base_url = client.configuration.base_url
    params.access_token = "not-a-jwt"  # given a token, Configuration does not fetch one
    stranger = AppsApi(log_wire(ApiClient(Configuration(params))))
    with pytest.raises(ApiException) as unauthenticated:
        stranger.get_source_app_v1(app.id)
    assert unauthenticated.value.status == 401, \
        f"no valid token and no header: expected 401 first, got {unauthenticated.value.status}: {unauthenticated.value.body}"

    # The value is compared case-insensitively (docs/source-apps.md).
    assert apps.get_source_app_v1(app.id, x_sail_point_experimental="TRUE").id == app.id
    assert apps.get_source_app_v1(app.id, x_sail_point_experimental="True").id == app.id

"""Source apps through the official Python SDK `sailpoint==1.4.2` (sailpoint.beta `AppsApi`,
paths /beta/source-apps...): docs/source-apps.md, CONTRACT §3.3.

Run in .venv-v3 (see setup.sh). The SDK fixtures are shared with test_v3_beta.py. The access
profiles the apps hold are created (and deleted) here through v3 `AccessProfilesApi` on the
demo source `v3_world` picked, so the demo's own profiles are never touched.

Two sailpoint 1.4.2 quirks shape these tests (SDK-NOTES §15):
- beta `JsonPatchOperation.op` only knows remove/replace, so `add /accessProfiles/-` warns
  (asserted with pytest.warns), and a list of ids as a patch value cannot be serialised
  through the validated wrapper (see `replace_profiles`).
- `usedBy[].type` only knows ROLE, so an in-use answer naming an APPLICATION warns.
"""

import json
import re
import types
import warnings

import pytest
import sailpoint.beta as beta
import sailpoint.v3 as v3

from conftest import (APPLICATION_USAGE_WARNING, assert_access_profile_details, assert_id,
                      assert_in_use_error, assert_isc_error, assert_source_app,
                      assert_used_by_application, unique_name)
# Fixtures (pytest finds them by name in this module) and helpers of the access-profile smoke test.
from test_v3_beta import beta_client, configuration, new_profile, v3_client, v3_world  # noqa: F401

APP_DESCRIPTION = "source app created by the SDK smoke test"
APP_BULK_DESCRIPTION = "source app bulk-updated by the SDK smoke test"
EXPERIMENTAL = {"X-SailPoint-Experimental": "true"}
VALUE = beta.UpdateMultiHostSourcesRequestInnerValue

# Profile A asks for approval by the manager, then the profile owner, and for comments; B asks
# for nothing. AccessProfileDetails renders that as a comma-separated string (docs/source-apps.md):
# MANAGER → manager, OWNER → accessProfileOwner, no schemes → "".
A_APPROVALS = ("MANAGER", "OWNER")
A_APPROVAL_SCHEMES = "manager,accessProfileOwner"


@pytest.fixture
def experimental(configuration):
    """sailpoint 1.4.2 refuses client-side to send `X-SailPoint-Experimental` (raises before the
    request) unless configuration.experimental is True; it then prints a warning per call
    unless suppress_experimental_warnings."""
    configuration.experimental = True
    configuration.suppress_experimental_warnings = True
    yield
    configuration.experimental = False
    configuration.suppress_experimental_warnings = False


@pytest.fixture
def cleanup(v3_client, beta_client):
    """Deletes what a test created (apps first: they hold the profiles), whatever the outcome.
    404 (already deleted by the test) and 400 (still held after a failure) are ignored."""
    apps, profiles = [], []
    yield apps, profiles
    for app_id in apps:
        try:
            beta.AppsApi(beta_client).delete_source_app(app_id)
        except beta.ApiException as e:
            if e.status not in (400, 404):
                raise
    for profile_id in profiles:
        try:
            v3.AccessProfilesApi(v3_client).delete_access_profile(profile_id)
        except v3.ApiException as e:
            if e.status not in (400, 404):
                raise


def create_profile(v3_client, world, cleanup, family, approvals=()):
    body = new_profile(v3, world, unique_name(family))
    if approvals:
        body.access_request_config = v3.Requestability(
            comments_required=True,
            approval_schemes=[v3.AccessProfileApprovalScheme(approver_type=t) for t in approvals])
    created = v3.AccessProfilesApi(v3_client).create_access_profile_with_http_info(body)
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


def create_app(apps, world, cleanup, name):
    body = beta.SourceAppCreateDto(
        name=name,
        description=APP_DESCRIPTION,
        account_source=beta.SourceAppCreateDtoAccountSource(id=world.source_id, type="SOURCE",
                                                            name=world.source_name),
    )
    created = apps.create_source_app_with_http_info(body)
    assert created.status_code == 200, f"create source app: expected 200 (the SDK maps only 200), got {created.status_code}"
    assert isinstance(created.data, beta.SourceApp), f"expected SourceApp, got {created.data!r} (raw {created.raw_data!r})"
    cleanup[0].append(created.data.id)
    assert_source_app(created.data, world, name, APP_DESCRIPTION)
    return created.data


def add_profile(profile_id):
    """`add /accessProfiles/-`. sailpoint 1.4.2 beta warns that "add" is not one of its enum
    values (remove, replace) but builds and sends the operation unchanged."""
    with pytest.warns(UserWarning, match="unknown value: add"):
        return beta.JsonPatchOperation(op="add", path="/accessProfiles/-", value=VALUE(profile_id))


def replace_profiles(profile_ids):
    """`replace /accessProfiles` with a list of ids. The validated wrapper only takes a list of
    ArrayInner, and ArrayInner("id") crashes in sanitize_for_serialization ('str' object has
    no attribute 'items'), so the SDK cannot send this as documented. model_construct skips the
    validation and serialises to the plain list the spec describes."""
    return beta.JsonPatchOperation(op="replace", path="/accessProfiles",
                                   value=VALUE.model_construct(actual_instance=list(profile_ids)))


def patch(apps, app, operations, world, profile_ids, name=None, description=APP_DESCRIPTION, **flags):
    patched = apps.patch_source_app_with_http_info(app.id, operations)
    assert patched.status_code == 200
    assert isinstance(patched.data, beta.SourceAppPatchDto), f"expected SourceAppPatchDto, got {patched.data!r}"
    assert_source_app(patched.data, world, name or app.name, description, **flags)
    assert patched.data.id == app.id
    assert patched.data.access_profiles == profile_ids, \
        f"accessProfiles after the patch should be {profile_ids}, got {patched.data.access_profiles!r}"
    return patched.data


def assert_details(listed, profiles, world, app):
    assert [d.id for d in listed] == [p.id for p in profiles], \
        f"the app's access profiles should be {[p.id for p in profiles]} in the app's order, got {[d.id for d in listed]}"
    for details, profile in zip(listed, profiles):
        assert_access_profile_details(details, profile, world, app, *profile.expected_details)


def assert_app_gone(apps, app_id):
    with pytest.raises(beta.ApiException) as gone:
        apps.get_source_app(app_id)
    assert_isc_error(gone.value, 404)
    # getSourceApp maps 404 to ErrorResponseDto, so the body also parses as the SDK's model.
    assert isinstance(gone.value.data, beta.ErrorResponseDto), \
        f"the 404 body did not parse as ErrorResponseDto: data={gone.value.data!r} body={gone.value.body!r}"


def assert_application_usage_warning(caught):
    messages = [str(w.message) for w in caught]
    assert len(messages) == 1 and re.search(APPLICATION_USAGE_WARNING, messages[0]), \
        f"sailpoint 1.4.2 should warn exactly once about the APPLICATION usage type, warned {messages}"


def test_beta_source_app_with_access_profiles(v3_client, beta_client, v3_world, experimental, cleanup):
    apps = beta.AppsApi(beta_client)
    a = create_profile(v3_client, v3_world, cleanup, "beta-app-ap-a", approvals=A_APPROVALS)
    b = create_profile(v3_client, v3_world, cleanup, "beta-app-ap-b")
    app = create_app(apps, v3_world, cleanup, unique_name("beta-app"))

    got = apps.get_source_app_with_http_info(app.id)
    assert got.status_code == 200
    assert_source_app(got.data, v3_world, app.name, APP_DESCRIPTION)
    assert (got.data.id, got.data.cloud_app_id, got.data.created) == (app.id, app.cloud_app_id, app.created)
    assert apps.list_access_profiles_for_source_app(app.id) == [], "a new app holds no access profiles"

    # Attach both profiles by JSON Patch.
    patch(apps, app, [add_profile(a.id), add_profile(b.id)], v3_world, [a.id, b.id])

    listed = apps.list_access_profiles_for_source_app_with_http_info(app.id)
    assert listed.status_code == 200
    assert_details(listed.data, [a, b], v3_world, app)
    only_a = apps.list_access_profiles_for_source_app(app.id, filters=f'id eq "{a.id}"')
    assert [d.id for d in only_a] == [a.id], f'filters=id eq "{a.id}" gave {[d.id for d in only_a]}'

    # Bulk remove B without the experimental header (beta never requires it): 200 with what remains.
    removed = apps.delete_access_profiles_from_source_app_by_bulk_with_http_info(app.id, [b.id])
    assert removed.status_code == 200, f"bulk remove: expected 200, got {removed.status_code}"
    assert_details(removed.data, [a], v3_world, app)
    assert [d.id for d in apps.list_access_profiles_for_source_app(app.id)] == [a.id]
    assert v3.AccessProfilesApi(v3_client).get_access_profile(b.id).id == b.id, \
        "bulk remove must only unlink the profile, not delete it"
    # B is no longer on the app: removing it again is a 400 naming it, and removes nothing.
    with pytest.raises(beta.ApiException) as not_on_app:
        apps.delete_access_profiles_from_source_app_by_bulk(app.id, [a.id, b.id])
    body = assert_isc_error(not_on_app.value, 400)
    assert b.id in json.dumps(body), f"the 400 should name {b.id}, the profile not on the app: {body}"
    assert [d.id for d in apps.list_access_profiles_for_source_app(app.id)] == [a.id], "a rejected bulk remove must remove nothing"

    # Put B back (replace the whole list), then remove it again, this time with the header.
    patch(apps, app, [replace_profiles([a.id, b.id])], v3_world, [a.id, b.id])
    removed = apps.delete_access_profiles_from_source_app_by_bulk_with_http_info(
        app.id, [b.id], limit=250, _headers=dict(EXPERIMENTAL))
    assert removed.status_code == 200, f"bulk remove with X-SailPoint-Experimental: expected 200, got {removed.status_code}"
    assert_details(removed.data, [a], v3_world, app)

    # A is held by the app: in use for single deletes (v3 and beta) and for bulk delete.
    with pytest.raises(v3.ApiException) as in_use:
        v3.AccessProfilesApi(v3_client).delete_access_profile(a.id)
    assert_in_use_error(in_use.value, a.name)
    assert isinstance(in_use.value.data, v3.ErrorResponseDto), \
        f"the 400 body did not parse as ErrorResponseDto: data={in_use.value.data!r} body={in_use.value.body!r}"
    assert in_use.value.data.detail_code == "400.2.1.0 Object in use by another"
    with pytest.raises(beta.ApiException) as in_use:
        beta.AccessProfilesApi(beta_client).delete_access_profile(a.id)
    assert_in_use_error(in_use.value, a.name)

    # sailpoint 1.4.2's AccessProfileUsageUsedByInner.type only knows ROLE: an APPLICATION usage
    # warns (our pytest.ini would turn that into an exception out of the call) but still
    # deserialises with type "APPLICATION". Record the warnings, check the answer, then them.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        bulk = beta.AccessProfilesApi(beta_client).delete_access_profiles_in_bulk_with_http_info(
            beta.AccessProfileBulkDeleteRequest(access_profile_ids=[a.id]))
    assert bulk.status_code == 200, f"bulk delete of a profile held by an app: expected 200, got {bulk.status_code}"
    assert bulk.data.pending == [] and bulk.data.task_id is None, f"nothing may be deleted: {bulk.data!r}"
    assert_used_by_application(bulk.data.in_use, a.id, app.id, app.name)
    assert_application_usage_warning(caught)
    assert v3.AccessProfilesApi(v3_client).get_access_profile(a.id).id == a.id

    # Once the app lets go of A (remove /accessProfiles/0), A can be deleted (v3: 204).
    patch(apps, app, [beta.JsonPatchOperation(op="remove", path="/accessProfiles/0")], v3_world, [])
    assert v3.AccessProfilesApi(v3_client).delete_access_profile_with_http_info(a.id).status_code == 204
    assert v3.AccessProfilesApi(v3_client).delete_access_profile_with_http_info(b.id).status_code == 204

    # Delete the app: 200 with the app as it was.
    deleted = apps.delete_source_app_with_http_info(app.id)
    assert deleted.status_code == 200, f"delete source app: expected 200, got {deleted.status_code}"
    assert isinstance(deleted.data, beta.SourceApp), f"delete should answer the app, got {deleted.data!r} (raw {deleted.raw_data!r})"
    assert_source_app(deleted.data, v3_world, app.name, APP_DESCRIPTION)
    assert deleted.data.id == app.id
    assert_app_gone(apps, app.id)
    with pytest.raises(beta.ApiException) as again:
        apps.delete_source_app(app.id)
    assert_isc_error(again.value, 404)


def test_beta_source_app_lists_and_bulk_update(v3_client, beta_client, v3_world, cleanup):
    apps = beta.AppsApi(beta_client)
    prefix = unique_name("beta-apps")
    a = create_profile(v3_client, v3_world, cleanup, "beta-apps-ap")
    held = create_app(apps, v3_world, cleanup, f"{prefix}-held")
    empty = create_app(apps, v3_world, cleanup, f"{prefix}-empty")
    patch(apps, held, [add_profile(a.id)], v3_world, [a.id])

    def names(listing, **kwargs):
        found = listing(filters=f'name sw "{prefix}"', **kwargs)
        assert all(isinstance(x, beta.SourceApp) for x in found), f"expected SourceApp items, got {found!r}"
        return sorted(x.name for x in found)

    # New apps are disabled: listed by /all only.
    assert names(apps.list_all_source_app) == sorted([held.name, empty.name])
    assert names(apps.list_available_source_apps) == [], "disabled apps are not available"
    assert names(apps.list_assigned_source_app) == [], "disabled apps are not assigned"
    by_name = apps.list_all_source_app_with_http_info(filters=f'name eq "{held.name}"')
    assert by_name.status_code == 200
    assert [x.id for x in by_name.data] == [held.id], f'filters=name eq "{held.name}" gave {[x.id for x in by_name.data]}'
    assert_source_app(by_name.data[0], v3_world, held.name, APP_DESCRIPTION)

    # Bulk update both: 204, then each get shows the change.
    request = beta.SourceAppBulkUpdateRequest(app_ids=[held.id, empty.id], json_patch=[
        beta.JsonPatchOperation(op="replace", path="/enabled", value=VALUE(True)),
        beta.JsonPatchOperation(op="replace", path="/provisionRequestEnabled", value=VALUE(True)),
        beta.JsonPatchOperation(op="replace", path="/description", value=VALUE(APP_BULK_DESCRIPTION)),
    ])
    updated = apps.update_source_apps_in_bulk_with_http_info(request)
    assert updated.status_code == 204, f"bulk update: expected 204, got {updated.status_code}"
    assert updated.data is None
    for app in (held, empty):
        got = apps.get_source_app(app.id)
        assert_source_app(got, v3_world, app.name, APP_BULK_DESCRIPTION, enabled=True, provision_request_enabled=True)

    # Enabled + provisionRequestEnabled: available. Assigned additionally needs a held
    # enabled and requestable profile, which only `held` has.
    assert names(apps.list_available_source_apps) == sorted([held.name, empty.name])
    assert names(apps.list_assigned_source_app) == [held.name], "only the app holding a requestable profile is assigned"
    descending = apps.list_all_source_app(filters=f'name sw "{prefix}"', sorters="-name")
    assert [x.name for x in descending] == sorted([held.name, empty.name], reverse=True), \
        f"sorters=-name: {[x.name for x in descending]}"

    # Unknown app in a bulk update: 404, and nothing changes (all or nothing).
    with pytest.raises(beta.ApiException) as unknown:
        apps.update_source_apps_in_bulk(beta.SourceAppBulkUpdateRequest(app_ids=[held.id, "0" * 32], json_patch=[
            beta.JsonPatchOperation(op="replace", path="/enabled", value=VALUE(False))]))
    body = assert_isc_error(unknown.value, 404)
    assert "0" * 32 in json.dumps(body), f"the 404 should name the unknown app id: {body}"
    assert apps.get_source_app(held.id).enabled is True, "a rejected bulk update must change nothing"


def test_beta_source_app_refuses_a_profile_of_another_source(v3_client, beta_client, v3_world, cleanup):
    apps = beta.AppsApi(beta_client)
    others = [p for p in v3.AccessProfilesApi(v3_client).list_access_profiles(limit=50)
              if p.source is not None and p.source.id != v3_world.source_id]
    assert others, f"the demo tenant should have access profiles on a source other than {v3_world.source_id}"
    other = others[0]
    app = create_app(apps, v3_world, cleanup, unique_name("beta-app-src"))

    with pytest.raises(beta.ApiException) as wrong_source:
        apps.patch_source_app(app.id, [add_profile(other.id)])
    body = assert_isc_error(wrong_source.value, 400)
    text = json.dumps(body)
    assert other.id in text, f"the 400 should name the profile {other.id}: {body}"
    assert other.source.id in text or other.source.name in text, \
        f"the 400 should name the profile's source {other.source.id} ({other.source.name}): {body}"
    assert apps.list_access_profiles_for_source_app(app.id) == [], "a failed patch must change nothing"

"""Access profiles through the official Python SDK `sailpoint==1.4.2` (sailpoint.v3, sailpoint.beta).

Run in .venv-v3 (see setup.sh). The SDK is configured with ACCESSD_BASE_URL and fetches its
own token at BASE/oauth/token; every call goes through the SDK's typed API.
"""

import types

import pytest
import sailpoint.beta as beta
import sailpoint.v3 as v3
from sailpoint.configuration import Configuration, ConfigurationParams

from conftest import (assert_id, assert_isc_error, assert_utc_datetime, header, log_wire,
                      require_token, unique_name)


@pytest.fixture(scope="module")
def configuration(target):
    params = ConfigurationParams()
    params.base_url = target.base_url
    params.client_id = target.client_id
    params.client_secret = target.client_secret
    configuration = Configuration(params)
    require_token(configuration, target)
    return configuration


@pytest.fixture(scope="module")
def v3_client(configuration):
    return log_wire(v3.ApiClient(configuration))


@pytest.fixture(scope="module")
def beta_client(configuration):
    return log_wire(beta.ApiClient(configuration))


def entitlements_of(beta_client, source_id, limit=2):
    """v3 has no entitlement listing; beta's GET /entitlements filtered by source is the SDK way."""
    return beta.EntitlementsApi(beta_client).list_entitlements(
        filters=f'source.id eq "{source_id}"', limit=limit)


@pytest.fixture(scope="module")
def v3_world(v3_client, beta_client):
    """An owner (GET /v3/public-identities) and a source (GET /v3/sources) with entitlements."""
    identities = v3.PublicIdentitiesApi(v3_client).get_public_identities(limit=10)
    assert identities, "GET /v3/public-identities returned no identity to own the profile"
    owner = identities[0]
    assert owner.id, f"public identity without id: {owner}"

    sources = v3.SourcesApi(v3_client).list_sources(limit=50)
    assert sources, "GET /v3/sources returned no source"
    for source in sources:
        entitlements = entitlements_of(beta_client, source.id)
        if entitlements:
            return types.SimpleNamespace(owner_id=owner.id, source_id=source.id,
                                         source_name=source.name,
                                         entitlement_ids=[e.id for e in entitlements])
    pytest.fail(f"none of the {len(sources)} sources has entitlements (GET /beta/entitlements?filters=source.id eq ...)")


@pytest.fixture(scope="module")
def beta_world(beta_client):
    """An owner (GET /beta/identities) and a source taken from GET /beta/entitlements."""
    identities = beta.IdentitiesApi(beta_client).list_identities(limit=10)
    assert identities, "GET /beta/identities returned no identity to own the profile"
    owner = identities[0]
    assert owner.id, f"identity without id: {owner}"

    any_entitlements = beta.EntitlementsApi(beta_client).list_entitlements(limit=50)
    assert any_entitlements, "GET /beta/entitlements returned no entitlement"
    first = any_entitlements[0]
    assert first.source and first.source.id, f"entitlement without source.id: {first}"
    entitlements = entitlements_of(beta_client, first.source.id)
    assert entitlements, f"filter source.id eq \"{first.source.id}\" lost the entitlement {first.id}"
    assert all(e.source.id == first.source.id for e in entitlements), \
        f"filter source.id eq returned entitlements of other sources: {[e.source for e in entitlements]}"
    return types.SimpleNamespace(owner_id=owner.id, source_id=first.source.id,
                                 source_name=first.source.name,
                                 entitlement_ids=[e.id for e in entitlements])


def new_profile(sdk, world, name):
    return sdk.AccessProfile(
        name=name,
        description="created by the SDK smoke test",
        owner=sdk.OwnerReference(type="IDENTITY", id=world.owner_id),
        source=sdk.AccessProfileSourceRef(type="SOURCE", id=world.source_id, name=world.source_name),
        entitlements=[sdk.EntitlementRef(type="ENTITLEMENT", id=i) for i in world.entitlement_ids],
        enabled=True,
        requestable=True,
    )


def assert_profile(profile, sdk, world, name, description, requestable):
    assert isinstance(profile, sdk.AccessProfile), f"expected AccessProfile, got {profile!r}"
    assert_id(profile.id, "id")
    assert profile.name == name
    assert profile.description == description
    assert profile.owner.id == world.owner_id
    assert profile.owner.type == "IDENTITY"
    assert profile.source.id == world.source_id
    assert sorted(e.id for e in profile.entitlements or []) == sorted(world.entitlement_ids)
    assert profile.enabled is True
    assert profile.requestable is requestable
    assert_utc_datetime(profile.created, "created")
    assert_utc_datetime(profile.modified, "modified")
    assert profile.modified >= profile.created


def patch_value(sdk):
    """The oneOf wrapper JsonPatchOperation.value must be built from: v3 calls it
    JsonPatchOperationValue; 1.4.2's generator named it after another operation in beta,
    v2024 and v2025."""
    return getattr(sdk, "JsonPatchOperationValue", None) or sdk.UpdateMultiHostSourcesRequestInnerValue


def run_flow(sdk, client, world, family):
    api = sdk.AccessProfilesApi(client)
    name = unique_name(family)

    created = api.create_access_profile_with_http_info(new_profile(sdk, world, name))
    assert created.status_code == 201
    profile = created.data
    assert_profile(profile, sdk, world, name, "created by the SDK smoke test", requestable=True)

    got = api.get_access_profile_with_http_info(profile.id)
    assert got.status_code == 200
    assert_profile(got.data, sdk, world, name, "created by the SDK smoke test", requestable=True)
    assert got.data.created == profile.created

    value = patch_value(sdk)
    patch = [
        sdk.JsonPatchOperation(op="replace", path="/description", value=value("patched by the SDK smoke test")),
        sdk.JsonPatchOperation(op="replace", path="/requestable", value=value(False)),
    ]
    patched = api.patch_access_profile_with_http_info(profile.id, patch)
    assert patched.status_code == 200
    assert_profile(patched.data, sdk, world, name, "patched by the SDK smoke test", requestable=False)
    assert patched.data.modified >= profile.modified

    listed = api.list_access_profiles_with_http_info(filters=f'name eq "{name}"', count=True)
    assert listed.status_code == 200
    assert [p.id for p in listed.data] == [profile.id]
    assert header(listed.headers, "X-Total-Count") == "1", f"X-Total-Count in {listed.headers}"
    assert_profile(listed.data[0], sdk, world, name, "patched by the SDK smoke test", requestable=False)

    newest = api.list_access_profiles_with_http_info(sorters="-created", limit=3)
    assert newest.status_code == 200
    assert 1 <= len(newest.data) <= 3
    created_times = [p.created for p in newest.data]
    assert created_times == sorted(created_times, reverse=True), f"sorters=-created not descending: {created_times}"
    assert newest.data[0].id == profile.id, "the profile just created should be the newest"

    entitlements = api.get_access_profile_entitlements_with_http_info(profile.id)
    assert entitlements.status_code == 200
    assert sorted(e.id for e in entitlements.data) == sorted(world.entitlement_ids)
    for e in entitlements.data:
        assert isinstance(e, sdk.models.Entitlement)
        assert e.source is not None and e.source.id == world.source_id

    # Deleting (204 on v3, 202 + task on beta) arrives with the deletion issue.
    with pytest.raises(sdk.ApiException) as unknown:
        api.get_access_profile("0" * 32)
    assert_isc_error(unknown.value, 404)


def run_duplicate(sdk, client, world, family):
    api = sdk.AccessProfilesApi(client)
    name = unique_name(family)
    api.create_access_profile(new_profile(sdk, world, name))
    with pytest.raises(sdk.ApiException) as duplicate:
        api.create_access_profile(new_profile(sdk, world, name))
    assert_isc_error(duplicate.value, 400)


def test_v3_access_profile_lifecycle(v3_client, v3_world):
    run_flow(v3, v3_client, v3_world, "v3")


def test_v3_duplicate_name_is_rejected_with_400(v3_client, v3_world):
    run_duplicate(v3, v3_client, v3_world, "v3")


def test_beta_access_profile_lifecycle(beta_client, beta_world):
    run_flow(beta, beta_client, beta_world, "beta")


def test_beta_duplicate_name_is_rejected_with_400(beta_client, beta_world):
    run_duplicate(beta, beta_client, beta_world, "beta")


def run_segments(sdk, client, world, family, also=None):
    """SegmentsApi (v3 and the year-versioned families have the same names): create a
    segment, put a new profile in it, list profiles with for_segment_ids, delete the
    segment: the profile leaves it. `also(segment, inside)` runs more checks while the
    segment exists."""
    segments = sdk.SegmentsApi(client)
    profiles = sdk.AccessProfilesApi(client)
    name = unique_name(f"{family}-segment")
    created = segments.create_segment_with_http_info(sdk.Segment(
        name=name,
        description="created by the SDK smoke test",
        owner=sdk.OwnerReferenceSegments(type="IDENTITY", id=world.owner_id),
        visibility_criteria=sdk.SegmentVisibilityCriteria(expression=sdk.Expression(
            operator="EQUALS", attribute="location", value=sdk.Value(type="STRING", value="Austin"))),
        active=True,
    ))
    assert created.status_code == 201
    segment = created.data
    assert isinstance(segment, sdk.Segment), f"expected Segment, got {segment!r}"
    assert_id(segment.id, "segment id")
    assert (segment.name, segment.active) == (name, True)
    assert segment.owner.id == world.owner_id and segment.owner.type == "IDENTITY"
    assert segment.visibility_criteria.expression.value.value == "Austin"
    assert_utc_datetime(segment.created, "segment created")
    assert segments.get_segment(segment.id) == segment

    listed = segments.list_segments_with_http_info(count=True)
    assert listed.status_code == 200
    assert segment.id in [s.id for s in listed.data]
    assert int(header(listed.headers, "X-Total-Count")) == len(listed.data)

    patched = segments.patch_segment(segment.id, [{"op": "replace", "path": "/active", "value": False}])
    assert patched.active is False and patched.name == name

    prefix = unique_name(f"{family}-segmented")
    inside = new_profile(sdk, world, f"{prefix}-in")
    inside.segments = [segment.id]
    inside = profiles.create_access_profile(inside)
    assert inside.segments == [segment.id]
    outside = profiles.create_access_profile(new_profile(sdk, world, f"{prefix}-out"))
    assert outside.segments == []

    only_in = profiles.list_access_profiles(for_segment_ids=segment.id, include_unsegmented=False)
    assert [p.id for p in only_in] == [inside.id]
    with_unsegmented = profiles.list_access_profiles(
        for_segment_ids=segment.id, filters=f'name sw "{prefix}"', sorters="name", count=True)
    assert [p.id for p in with_unsegmented] == [inside.id, outside.id]
    if also:
        also(segment, inside)
    with pytest.raises(sdk.ApiException) as refused:
        profiles.list_access_profiles(include_unsegmented=False)
    assert_isc_error(refused.value, 400)

    deleted = segments.delete_segment_with_http_info(segment.id)
    assert deleted.status_code == 204
    assert profiles.get_access_profile(inside.id).segments == []
    assert profiles.list_access_profiles(for_segment_ids=segment.id, include_unsegmented=False) == []
    with pytest.raises(sdk.ApiException) as gone:
        segments.get_segment(segment.id)
    assert_isc_error(gone.value, 404)


def test_v3_segments_narrow_the_access_profile_list(v3_client, beta_client, v3_world):
    """v3 segments; beta lists the v3 segment's profiles the same way."""
    def beta_lists(segment, inside):
        beta_in = beta.AccessProfilesApi(beta_client).list_access_profiles(
            for_segment_ids=segment.id, include_unsegmented=False)
        assert [p.id for p in beta_in] == [inside.id]
    run_segments(v3, v3_client, v3_world, "v3", also=beta_lists)

"""Access profiles through the official Python SDK `sailpoint` 2.x (per-service v1 paths).

Run in .venv-v1 (see setup.sh). The 2.x SDK is split into partitions (sailpoint.access_profiles,
sailpoint.entitlements, ...) with one shared ApiClient/Configuration at the top level; API
classes are loaded lazily from `sailpoint`. Every call goes through the SDK's typed API.
"""

import types

import pytest
from sailpoint import (AccessProfilesApi, ApiClient, Configuration, ConfigurationParams,
                       EntitlementsApi, IdentitiesApi)
from sailpoint.access_profiles.models import (AccessProfile, AccessProfileSourceRef, EntitlementRef,
                                              JsonPatchOperation, JsonPatchOperationValue,
                                              OwnerReference)
# The shared ApiClient raises the top-level exception classes; each partition has its own,
# unrelated, copies (sailpoint.access_profiles.exceptions.ApiException is not a subclass).
from sailpoint.exceptions import ApiException

from conftest import (assert_id, assert_isc_error, assert_utc_datetime, header, log_wire,
                      require_token, unique_name)

CREATED_DESCRIPTION = "created by the SDK smoke test"
PATCHED_DESCRIPTION = "patched by the SDK smoke test"


@pytest.fixture(scope="module")
def client(target):
    params = ConfigurationParams()
    params.base_url = target.base_url
    params.client_id = target.client_id
    params.client_secret = target.client_secret
    configuration = Configuration(params)
    require_token(configuration, target)
    return log_wire(ApiClient(configuration))


@pytest.fixture(scope="module")
def world(client):
    """An owner (GET /identities/v1) and a source with entitlements (GET /entitlements/v1)."""
    identities = IdentitiesApi(client).list_identities_v1(limit=10)
    assert identities, "GET /identities/v1 returned no identity to own the profile"
    owner = identities[0]
    assert owner.id, f"identity without id: {owner}"

    entitlements_api = EntitlementsApi(client)
    any_entitlements = entitlements_api.list_entitlements_v1(limit=50)
    assert any_entitlements, "GET /entitlements/v1 returned no entitlement"
    first = any_entitlements[0]
    assert first.source and first.source.id, f"entitlement without source.id: {first}"
    entitlements = entitlements_api.list_entitlements_v1(filters=f'source.id eq "{first.source.id}"', limit=2)
    assert entitlements, f"filter source.id eq \"{first.source.id}\" lost the entitlement {first.id}"
    assert all(e.source.id == first.source.id for e in entitlements), \
        f"filter source.id eq returned entitlements of other sources: {[e.source for e in entitlements]}"
    return types.SimpleNamespace(owner_id=owner.id, source_id=first.source.id,
                                 source_name=first.source.name,
                                 entitlement_ids=[e.id for e in entitlements])


def new_profile(world, name):
    return AccessProfile(
        name=name,
        description=CREATED_DESCRIPTION,
        owner=OwnerReference(type="IDENTITY", id=world.owner_id),
        source=AccessProfileSourceRef(type="SOURCE", id=world.source_id, name=world.source_name),
        entitlements=[EntitlementRef(type="ENTITLEMENT", id=i) for i in world.entitlement_ids],
        enabled=True,
        requestable=True,
    )


def assert_profile(profile, world, name, description, requestable):
    assert isinstance(profile, AccessProfile), f"expected AccessProfile, got {profile!r}"
    assert_id(profile.id, "id")
    assert profile.name == name
    assert profile.description == description
    assert profile.owner is not None and profile.owner.id == world.owner_id
    assert profile.owner.type == "IDENTITY"
    assert profile.source.id == world.source_id
    assert sorted(e.id for e in profile.entitlements or []) == sorted(world.entitlement_ids)
    assert profile.enabled is True
    assert profile.requestable is requestable
    assert_utc_datetime(profile.created, "created")
    assert_utc_datetime(profile.modified, "modified")
    assert profile.modified >= profile.created


def test_v1_access_profile_lifecycle(client, world):
    api = AccessProfilesApi(client)
    name = unique_name("v1")

    created = api.create_access_profile_v1_with_http_info(new_profile(world, name))
    assert created.status_code == 201
    profile = created.data
    assert_profile(profile, world, name, CREATED_DESCRIPTION, requestable=True)

    got = api.get_access_profile_v1_with_http_info(profile.id)
    assert got.status_code == 200
    assert_profile(got.data, world, name, CREATED_DESCRIPTION, requestable=True)
    assert got.data.created == profile.created

    patch = [
        JsonPatchOperation(op="replace", path="/description", value=JsonPatchOperationValue(PATCHED_DESCRIPTION)),
        JsonPatchOperation(op="replace", path="/requestable", value=JsonPatchOperationValue(False)),
    ]
    patched = api.patch_access_profile_v1_with_http_info(profile.id, patch)
    assert patched.status_code == 200
    assert_profile(patched.data, world, name, PATCHED_DESCRIPTION, requestable=False)
    assert patched.data.modified >= profile.modified

    listed = api.list_access_profiles_v1_with_http_info(filters=f'name eq "{name}"', count=True)
    assert listed.status_code == 200
    assert [p.id for p in listed.data] == [profile.id]
    assert header(listed.headers, "X-Total-Count") == "1", f"X-Total-Count in {listed.headers}"
    assert_profile(listed.data[0], world, name, PATCHED_DESCRIPTION, requestable=False)

    newest = api.list_access_profiles_v1_with_http_info(sorters="-created", limit=3)
    assert newest.status_code == 200
    assert 1 <= len(newest.data) <= 3
    created_times = [p.created for p in newest.data]
    assert created_times == sorted(created_times, reverse=True), f"sorters=-created not descending: {created_times}"
    assert newest.data[0].id == profile.id, "the profile just created should be the newest"

    entitlements = api.get_access_profile_entitlements_v1_with_http_info(profile.id)
    assert entitlements.status_code == 200
    assert sorted(e.id for e in entitlements.data) == sorted(world.entitlement_ids)
    for e in entitlements.data:
        # By name: the shared ApiClient resolves "Entitlement" in whichever loaded partition
        # defines it first (access_profiles, entitlements, roles, ... all do).
        assert type(e).__name__ == "Entitlement", f"expected Entitlement, got {e!r}"
        assert e.source is not None and e.source.id == world.source_id

    # Deleting (204 on v1) arrives with the deletion issue.
    with pytest.raises(ApiException) as unknown:
        api.get_access_profile_v1("0" * 32)
    assert_isc_error(unknown.value, 404)


def test_v1_duplicate_name_is_rejected_with_400(client, world):
    api = AccessProfilesApi(client)
    name = unique_name("v1")
    api.create_access_profile_v1(new_profile(world, name))
    with pytest.raises(ApiException) as duplicate:
        api.create_access_profile_v1(new_profile(world, name))
    assert_isc_error(duplicate.value, 400)

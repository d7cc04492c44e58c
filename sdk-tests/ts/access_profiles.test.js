// Access profiles and their deletion through the official TypeScript SDK
// (sailpoint-api-client: v3 AccessProfilesApi, beta AccessProfilesBetaApi and
// TaskManagementBetaApi): CONTRACT §3 and §4, the seeds' single and bulk delete.
"use strict";

const { before } = require("node:test");
const assert = require("node:assert/strict");
const h = require("./world");
const { sdk, test } = h;

let config;
let w;

before(async () => {
  config = h.configuration();
  w = await h.world(config);
});

async function createProfile(api, family, requestable = true) {
  const name = h.uniqueName(family);
  const created = await api.createAccessProfile(
    api instanceof sdk.AccessProfilesBetaApi
      ? { accessProfileBeta: h.newProfile(w, name, requestable) }
      : { accessProfile: h.newProfile(w, name, requestable) },
  );
  assert.equal(created.status, 201, `create access profile answered ${created.status}`);
  h.assertProfile(created.data, w, name, "created by the TypeScript SDK suite");
  return created.data;
}

function roleBody(name, profiles) {
  return {
    name,
    description: "role created by the TypeScript SDK suite",
    owner: { type: "IDENTITY", id: w.ownerId },
    accessProfiles: profiles.map((p) => ({ type: "ACCESS_PROFILE", id: p.id })),
    enabled: true,
    requestable: false,
  };
}

for (const family of ["v3", "beta"]) {
  test(`${family}: create, get, list with filters and count, patch, delete`, async () => {
    const api = family === "v3" ? new sdk.AccessProfilesApi(config) : new sdk.AccessProfilesBetaApi(config);
    const profile = await createProfile(api, family);

    const got = await api.getAccessProfile({ id: profile.id });
    assert.equal(got.status, 200);
    assert.deepEqual(got.data, profile, "GET answers the created document");

    const listed = await api.listAccessProfiles({
      filters: `name eq "${profile.name}"`,
      count: true,
      sorters: "-created",
    });
    assert.equal(listed.status, 200);
    assert.deepEqual(listed.data.map((p) => p.id), [profile.id]);
    assert.equal(listed.headers["x-total-count"], "1");

    const patch = [{ op: "replace", path: "/description", value: "patched by the TypeScript SDK suite" }];
    const patched = await api.patchAccessProfile(
      family === "v3" ? { id: profile.id, jsonPatchOperation: patch } : { id: profile.id, jsonPatchOperationBeta: patch },
    );
    assert.equal(patched.status, 200);
    assert.equal(patched.data.description, "patched by the TypeScript SDK suite");
    const after = await api.getAccessProfile({ id: profile.id });
    assert.equal(after.data.description, "patched by the TypeScript SDK suite");
    assert.equal(after.data.name, profile.name);

    const deleted = await api.deleteAccessProfile({ id: profile.id });
    if (family === "v3") {
      assert.equal(deleted.status, 204, "v3 single delete of an unused profile answers 204");
    } else {
      // The beta seed: 202 with a task reference; the task deletes the profile.
      assert.equal(deleted.status, 202, "beta single delete answers 202");
      assert.equal(deleted.data.type, "TASK_RESULT");
      h.assertId(deleted.data.id, "task reference id");
      const task = await h.waitForTask(config, deleted.data.id, "beta single delete");
      assert.equal(task.completionStatus, "SUCCESS", JSON.stringify(task));
    }
    await h.assertGone(() => api.getAccessProfile({ id: profile.id }), "deleted profile");
  });

  test(`${family}: an unknown id is a 404 ISC error`, async () => {
    const api = family === "v3" ? new sdk.AccessProfilesApi(config) : new sdk.AccessProfilesBetaApi(config);
    const response = await h.rejection(api.getAccessProfile({ id: "0".repeat(32) }));
    h.assertIscError(response, 404, "404 Not found");
  });
}

test("v3 bulk delete: an in-use profile stays; bestEffortOnly deletes the rest in a task", async () => {
  const profiles = new sdk.AccessProfilesApi(config);
  const roles = new sdk.RolesApi(config);
  const used = await createProfile(profiles, "v3 bulk used");
  const free = await createProfile(profiles, "v3 bulk free");
  const role = await roles.createRole({ role: roleBody(h.uniqueName("v3 role"), [used]) });
  assert.equal(role.status, 201);

  // Without bestEffortOnly: 200, nothing deleted, the usage named.
  const strict = await profiles.deleteAccessProfilesInBulk({
    accessProfileBulkDeleteRequest: { accessProfileIds: [used.id, free.id] },
  });
  assert.equal(strict.status, 200, JSON.stringify(strict.data));
  assert.equal(strict.data.taskId ?? null, null);
  assert.deepEqual(strict.data.pending, []);
  assert.equal(strict.data.inUse.length, 1);
  assert.equal(strict.data.inUse[0].accessProfileId, used.id);
  assert.deepEqual(strict.data.inUse[0].usedBy.map((u) => [u.type, u.id]), [["ROLE", role.data.id]]);
  assert.equal((await profiles.getAccessProfile({ id: free.id })).status, 200, "nothing was deleted");

  // bestEffortOnly: 202, a task deletes the free one, the used one stays.
  const best = await profiles.deleteAccessProfilesInBulk({
    accessProfileBulkDeleteRequest: { accessProfileIds: [used.id, free.id], bestEffortOnly: true },
  });
  assert.equal(best.status, 202, JSON.stringify(best.data));
  h.assertId(best.data.taskId, "bulk delete taskId");
  assert.deepEqual(best.data.pending, [free.id]);
  const task = await h.waitForTask(config, best.data.taskId, "v3 bulk delete");
  assert.equal(task.completionStatus, "SUCCESS", JSON.stringify(task));
  await h.assertGone(() => profiles.getAccessProfile({ id: free.id }), "bulk-deleted profile");
  assert.equal((await profiles.getAccessProfile({ id: used.id })).status, 200, "the in-use profile stays");

  // A profile in use is not deleted singly either (400, the usage named).
  const refused = await h.rejection(profiles.deleteAccessProfile({ id: used.id }));
  assert.equal(refused.status, 400, JSON.stringify(refused.data));

  assert.equal((await roles.deleteRole({ id: role.data.id })).status, 204);
  await h.assertGone(() => roles.getRole({ id: role.data.id }), "deleted role");
  assert.equal((await profiles.deleteAccessProfile({ id: used.id })).status, 204);
  await h.assertGone(() => profiles.getAccessProfile({ id: used.id }), "deleted profile");
});

test("beta bulk delete of unused profiles runs as a task to SUCCESS", async () => {
  const api = new sdk.AccessProfilesBetaApi(config);
  const a = await createProfile(api, "beta bulk a");
  const b = await createProfile(api, "beta bulk b");
  const bulk = await api.deleteAccessProfilesInBulk({
    accessProfileBulkDeleteRequestBeta: { accessProfileIds: [a.id, b.id] },
  });
  assert.equal(bulk.status, 202, JSON.stringify(bulk.data));
  assert.deepEqual([...bulk.data.pending].sort(), [a.id, b.id].sort());
  const task = await h.waitForTask(config, bulk.data.taskId, "beta bulk delete");
  assert.equal(task.completionStatus, "SUCCESS", JSON.stringify(task));
  assert.equal(task.type, "QUARTZ");
  for (const p of [a, b]) await h.assertGone(() => api.getAccessProfile({ id: p.id }), "bulk-deleted");
});

test("v3 roles: create, get, list, patch, bulk delete through a task", async () => {
  const profiles = new sdk.AccessProfilesApi(config);
  const roles = new sdk.RolesApi(config);
  const profile = await createProfile(profiles, "v3 role profile");
  const name = h.uniqueName("v3 role");
  const created = await roles.createRole({ role: roleBody(name, [profile]) });
  assert.equal(created.status, 201);
  h.assertId(created.data.id, "role id");
  assert.deepEqual(created.data.accessProfiles.map((p) => p.id), [profile.id]);

  const got = await roles.getRole({ id: created.data.id });
  assert.equal(got.status, 200);
  assert.equal(got.data.name, name);
  const listed = await roles.listRoles({ filters: `name eq "${name}"`, count: true });
  assert.deepEqual(listed.data.map((r) => r.id), [created.data.id]);
  assert.equal(listed.headers["x-total-count"], "1");

  const patched = await roles.patchRole({
    id: created.data.id,
    jsonPatchOperation: [{ op: "replace", path: "/description", value: "role patched by the TypeScript SDK suite" }],
  });
  assert.equal(patched.status, 200);
  assert.equal((await roles.getRole({ id: created.data.id })).data.description, "role patched by the TypeScript SDK suite");

  const bulk = await roles.deleteBulkRoles({ roleBulkDeleteRequest: { roleIds: [created.data.id] } });
  assert.equal(bulk.status, 202, JSON.stringify(bulk.data));
  assert.equal(bulk.data.type, "TASK_RESULT");
  const task = await h.waitForTask(config, bulk.data.id, "v3 bulk delete of roles");
  assert.equal(task.completionStatus, "SUCCESS", JSON.stringify(task));
  await h.assertGone(() => roles.getRole({ id: created.data.id }), "bulk-deleted role");
  assert.equal((await profiles.deleteAccessProfile({ id: profile.id })).status, 204);
});

// The v2024 family through the official TypeScript SDK (sailpoint-api-client: the *V2024Api
// classes, paths /v2024/…): access profiles (single delete 204, bulk delete through a task),
// roles, source apps with bulk remove, task management and lifecycle states (CONTRACT §3,
// §4).
//
// The SDK's v2024 source-app and task operations send `X-SailPoint-Experimental: true` by
// default (required by accessd on the ten /source-apps operations of this family), and
// refuse to send it unless `configuration.experimental` is true; then each such call logs
// "Warning: You are using Experimental APIs", which this file drops from the output.
"use strict";

const { before } = require("node:test");
const assert = require("node:assert/strict");
const h = require("./world");
const { sdk, test } = h;

const EXPERIMENTAL_WARNING = "Warning: You are using Experimental APIs";
const log = console.log;
console.log = (...args) => {
  if (args.length === 1 && args[0] === EXPERIMENTAL_WARNING) return;
  log(...args);
};

let config;
let w;

before(async () => {
  config = h.configuration();
  config.experimental = true;
  w = await h.world(config, {
    identities: "PublicIdentitiesV2024Api",
    sources: "SourcesV2024Api",
    entitlements: "EntitlementsV2024Api",
  });
});

const tasksOf = (c) => new sdk.TaskManagementV2024Api(c);

async function createProfile(label) {
  const name = h.uniqueName(`v2024 ${label}`);
  const created = await new sdk.AccessProfilesV2024Api(config).createAccessProfile({
    accessProfileV2024: h.newProfile(w, name),
  });
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

test("v2024 access profiles: create, get, list with filters and count, patch, single delete 204", async () => {
  const api = new sdk.AccessProfilesV2024Api(config);
  const profile = await createProfile("crud");

  const got = await api.getAccessProfile({ id: profile.id });
  assert.equal(got.status, 200);
  assert.deepEqual(got.data, profile, "GET answers the created document");

  const listed = await api.listAccessProfiles({
    filters: `name eq "${profile.name}" and source.id eq "${w.sourceId}"`,
    count: true,
    sorters: "-created",
  });
  assert.equal(listed.status, 200);
  assert.deepEqual(listed.data.map((p) => p.id), [profile.id]);
  assert.equal(listed.headers["x-total-count"], "1");

  const patched = await api.patchAccessProfile({
    id: profile.id,
    jsonPatchOperationV2024: [{ op: "replace", path: "/description", value: "patched by the TypeScript SDK suite" }],
  });
  assert.equal(patched.status, 200);
  assert.equal(patched.data.description, "patched by the TypeScript SDK suite");
  assert.equal((await api.getAccessProfile({ id: profile.id })).data.description, "patched by the TypeScript SDK suite");

  const entitlements = await api.getAccessProfileEntitlements({ id: profile.id });
  assert.equal(entitlements.status, 200);
  assert.deepEqual(entitlements.data.map((e) => e.id).sort(), [...w.entitlementIds].sort());

  const deleted = await api.deleteAccessProfile({ id: profile.id });
  assert.equal(deleted.status, 204, "v2024 single delete of an unused profile answers 204");
  await h.assertGone(() => api.getAccessProfile({ id: profile.id }), "deleted profile");
  assertNotFound(await h.rejection(api.deleteAccessProfile({ id: profile.id })));
});

function assertNotFound(response) {
  h.assertIscError(response, 404, "404 Not found");
}

test("v2024 bulk delete: the in-use profile stays, a task deletes the rest; roles CRUD and bulk delete", async () => {
  const profiles = new sdk.AccessProfilesV2024Api(config);
  const roles = new sdk.RolesV2024Api(config);
  const used = await createProfile("bulk used");
  const free = await createProfile("bulk free");
  const name = h.uniqueName("v2024 role");
  const role = await roles.createRole({ roleV2024: roleBody(name, [used]) });
  assert.equal(role.status, 201, JSON.stringify(role.data));
  h.assertId(role.data.id, "role id");
  assert.deepEqual(role.data.accessProfiles.map((p) => p.id), [used.id]);

  const listed = await roles.listRoles({ filters: `name eq "${name}"`, count: true });
  assert.deepEqual(listed.data.map((r) => r.id), [role.data.id]);
  assert.equal(listed.headers["x-total-count"], "1");
  const patched = await roles.patchRole({
    id: role.data.id,
    jsonPatchOperationV2024: [{ op: "replace", path: "/description", value: "role patched by the TypeScript SDK suite" }],
  });
  assert.equal(patched.status, 200);
  assert.equal((await roles.getRole({ id: role.data.id })).data.description, "role patched by the TypeScript SDK suite");

  const refused = await h.rejection(profiles.deleteAccessProfile({ id: used.id }));
  h.assertIscError(refused, 400, "400.2.1.0 Object in use by another");

  const best = await profiles.deleteAccessProfilesInBulk({
    accessProfileBulkDeleteRequestV2024: { accessProfileIds: [used.id, free.id], bestEffortOnly: true },
  });
  assert.equal(best.status, 202, JSON.stringify(best.data));
  h.assertId(best.data.taskId, "bulk delete taskId");
  assert.deepEqual(best.data.pending, [free.id]);
  assert.deepEqual(best.data.inUse.map((u) => [u.accessProfileId, u.usedBy.map((r) => [r.type, r.id])]), [
    [used.id, [["ROLE", role.data.id]]],
  ]);
  const task = await h.waitForTask(config, best.data.taskId, "v2024 bulk delete", tasksOf(config));
  assert.equal(task.completionStatus, "SUCCESS", JSON.stringify(task));
  await h.assertGone(() => profiles.getAccessProfile({ id: free.id }), "bulk-deleted profile");
  assert.equal((await profiles.getAccessProfile({ id: used.id })).status, 200, "the in-use profile stays");

  // v2024 lists finished tasks: the bulk delete's is there now.
  const finished = await tasksOf(config).getTaskStatusList({ filters: `id eq "${best.data.taskId}"`, count: true });
  assert.equal(finished.status, 200);
  assert.deepEqual(finished.data.map((t) => [t.id, t.completionStatus]), [[best.data.taskId, "SUCCESS"]]);
  assert.equal(finished.headers["x-total-count"], "1");

  assert.equal((await roles.deleteRole({ id: role.data.id })).status, 204);
  await h.assertGone(() => roles.getRole({ id: role.data.id }), "deleted role");
  assert.equal((await profiles.deleteAccessProfile({ id: used.id })).status, 204);

  const r2 = await roles.createRole({ roleV2024: roleBody(h.uniqueName("v2024 role"), []) });
  const bulk = await roles.deleteBulkRoles({ roleBulkDeleteRequestV2024: { roleIds: [r2.data.id] } });
  assert.equal(bulk.status, 202, JSON.stringify(bulk.data));
  assert.equal(bulk.data.type, "TASK_RESULT");
  const roleTask = await h.waitForTask(config, bulk.data.id, "v2024 bulk delete of roles", tasksOf(config));
  assert.equal(roleTask.completionStatus, "SUCCESS", JSON.stringify(roleTask));
  await h.assertGone(() => roles.getRole({ id: r2.data.id }), "bulk-deleted role");
});

test("v2024 source apps: create, attach profiles, bulk remove, bulk update, lists, delete", async () => {
  const apps = new sdk.AppsV2024Api(config);
  const profiles = new sdk.AccessProfilesV2024Api(config);
  const a = await createProfile("app a");
  const b = await createProfile("app b");
  const name = h.uniqueName("v2024 app");
  const created = await apps.createSourceApp({
    sourceAppCreateDtoV2024: {
      name,
      description: "source app created by the TypeScript SDK suite",
      accountSource: { id: w.sourceId, type: "SOURCE", name: w.sourceName },
    },
  });
  assert.equal(created.status, 200, JSON.stringify(created.data));
  const app = created.data;
  h.assertId(app.id, "source app id");
  assert.equal(app.enabled, false);
  assert.deepEqual((await apps.getSourceApp({ id: app.id })).data, app, "GET answers the created app");

  const patched = await apps.patchSourceApp({
    id: app.id,
    jsonPatchOperationV2024: [
      { op: "add", path: "/accessProfiles/-", value: a.id },
      { op: "add", path: "/accessProfiles/-", value: b.id },
    ],
  });
  assert.equal(patched.status, 200, JSON.stringify(patched.data));
  assert.deepEqual(patched.data.accessProfiles, [a.id, b.id]);
  const held = await apps.listAccessProfilesForSourceApp({ id: app.id });
  assert.deepEqual(held.data.map((d) => d.id), [a.id, b.id]);

  const removed = await apps.deleteAccessProfilesFromSourceAppByBulk({ id: app.id, requestBody: [b.id] });
  assert.equal(removed.status, 200, JSON.stringify(removed.data));
  assert.deepEqual(removed.data.map((d) => d.id), [a.id]);
  assert.deepEqual((await apps.listAccessProfilesForSourceApp({ id: app.id })).data.map((d) => d.id), [a.id]);
  assert.equal((await profiles.getAccessProfile({ id: b.id })).status, 200, "bulk remove only unlinks the profile");

  const byName = { filters: `name eq "${name}"` };
  assert.deepEqual((await apps.listAllSourceApp(byName)).data.map((x) => x.id), [app.id]);
  assert.deepEqual((await apps.listAvailableSourceApps(byName)).data, [], "a disabled app is not available");
  const updated = await apps.updateSourceAppsInBulk({
    sourceAppBulkUpdateRequestV2024: {
      appIds: [app.id],
      jsonPatch: [
        { op: "replace", path: "/enabled", value: true },
        { op: "replace", path: "/provisionRequestEnabled", value: true },
      ],
    },
  });
  assert.equal(updated.status, 204);
  const enabled = await apps.getSourceApp({ id: app.id });
  assert.equal(enabled.data.enabled, true);
  assert.equal(enabled.data.provisionRequestEnabled, true);
  assert.deepEqual((await apps.listAvailableSourceApps(byName)).data.map((x) => x.id), [app.id]);
  assert.deepEqual((await apps.listAssignedSourceApp(byName)).data.map((x) => x.id), [app.id]);

  // Without the header (the SDK sends whatever it is given): 400, exactly CONTRACT §3.3's body.
  const refused = await h.rejection(apps.getSourceApp({ id: app.id, xSailPointExperimental: "false" }));
  assert.equal(refused.status, 400);
  assert.deepEqual(refused.data, { error: "Experimental Header is missing or invalid." });

  const refusedDelete = await h.rejection(profiles.deleteAccessProfile({ id: a.id }));
  h.assertIscError(refusedDelete, 400, "400.2.1.0 Object in use by another");
  const deleted = await apps.deleteSourceApp({ id: app.id });
  assert.equal(deleted.status, 200);
  assert.equal(deleted.data.id, app.id);
  await h.assertGone(() => apps.getSourceApp({ id: app.id }), "deleted source app");
  for (const p of [a, b]) assert.equal((await profiles.deleteAccessProfile({ id: p.id })).status, 204);
});

test("v2024 task management: a pending task is listed, completed by PATCH, and no longer pending", async () => {
  // The accessd without a task runner (scripts/sdk-smoke.sh): its tasks stay pending.
  const held = h.configuration("ACCESSD_HELD_BASE_URL");
  held.experimental = true;
  const heldWorld = await h.world(held, {
    identities: "PublicIdentitiesV2024Api",
    sources: "SourcesV2024Api",
    entitlements: "EntitlementsV2024Api",
  });
  const profiles = new sdk.AccessProfilesV2024Api(held);
  const created = await profiles.createAccessProfile({
    accessProfileV2024: h.newProfile(heldWorld, h.uniqueName("v2024 task")),
  });
  assert.equal(created.status, 201);
  const bulk = await profiles.deleteAccessProfilesInBulk({
    accessProfileBulkDeleteRequestV2024: { accessProfileIds: [created.data.id] },
  });
  assert.equal(bulk.status, 202, JSON.stringify(bulk.data));
  const id = bulk.data.taskId;
  const tasks = tasksOf(held);

  const status = await tasks.getTaskStatus({ id });
  assert.equal(status.status, 200);
  assert.equal(status.data.id, id);
  assert.equal(status.data.completionStatus, null, "nobody runs this task");
  const pending = await tasks.getPendingTasks({ count: true });
  assert.ok(pending.data.some((t) => t.id === id), "the task is pending");
  assert.equal(pending.headers["x-total-count"], String(pending.data.length));
  const heads = await tasks.getPendingTaskHeaders({ count: true });
  assert.equal(heads.status, 200);
  assert.equal(heads.headers["x-total-count"], String(pending.data.length));

  const updated = await tasks.updateTaskStatus({
    id,
    jsonPatchOperationV2024: [{ op: "replace", path: "/completionStatus", value: "TERMINATED" }],
  });
  assert.equal(updated.status, 200, JSON.stringify(updated.data));
  assert.equal(updated.data.completionStatus, "TERMINATED");
  assert.ok(updated.data.completed, "completed is written with completionStatus");
  assert.equal((await tasks.getTaskStatus({ id })).data.completionStatus, "TERMINATED");
  assert.ok(!(await tasks.getPendingTasks({})).data.some((t) => t.id === id), "a completed task is not pending");
  assert.equal((await profiles.getAccessProfile({ id: created.data.id })).status, 200, "the terminated task deleted nothing");
  assert.equal((await profiles.deleteAccessProfile({ id: created.data.id })).status, 204);
});

test("v2024 lifecycle states: list, create holding a profile (in use), get, patch, delete 202", async () => {
  const identityProfileId = process.env.ACCESSD_IDENTITY_PROFILE_ID;
  assert.ok(identityProfileId, "set ACCESSD_IDENTITY_PROFILE_ID (scripts/sdk-smoke.sh reads it from `accessd export`)");
  const states = new sdk.LifecycleStatesV2024Api(config);
  const profiles = new sdk.AccessProfilesV2024Api(config);
  const profile = await createProfile("lifecycle");

  const demo = await states.getLifecycleStates({ identityProfileId, count: true });
  assert.equal(demo.status, 200);
  assert.equal(demo.headers["x-total-count"], String(demo.data.length));
  const name = h.uniqueName("v2024 state");
  const technicalName = name.replace(/[^A-Za-z0-9]/g, "_");
  const created = await states.createLifecycleState({
    identityProfileId,
    lifecycleStateV2024: { name, technicalName, enabled: true, accessProfileIds: [profile.id] },
  });
  assert.equal(created.status, 201, JSON.stringify(created.data));
  const id = created.data.id;
  h.assertId(id, "lifecycle state id");
  assert.deepEqual([created.data.name, created.data.technicalName, created.data.accessProfileIds], [name, technicalName, [profile.id]]);
  assert.deepEqual((await states.getLifecycleState({ identityProfileId, lifecycleStateId: id })).data, created.data);
  assert.equal((await states.getLifecycleStates({ identityProfileId })).data.length, demo.data.length + 1);

  const refused = await h.rejection(profiles.deleteAccessProfile({ id: profile.id }));
  h.assertIscError(refused, 400, "400.2.1.0 Object in use by another");

  const patched = await states.updateLifecycleStates({
    identityProfileId,
    lifecycleStateId: id,
    jsonPatchOperationV2024: [
      { op: "replace", path: "/description", value: "patched by the TypeScript SDK suite" },
      { op: "replace", path: "/accessProfileIds", value: [] },
    ],
  });
  assert.equal(patched.status, 200, JSON.stringify(patched.data));
  const after = (await states.getLifecycleState({ identityProfileId, lifecycleStateId: id })).data;
  assert.deepEqual([after.description, after.accessProfileIds], ["patched by the TypeScript SDK suite", []]);

  const deleted = await states.deleteLifecycleState({ identityProfileId, lifecycleStateId: id });
  assert.equal(deleted.status, 202, JSON.stringify(deleted.data));
  await h.assertGone(() => states.getLifecycleState({ identityProfileId, lifecycleStateId: id }), "deleted state");
  assert.equal((await profiles.deleteAccessProfile({ id: profile.id })).status, 204, "the released profile is deleted");
});

// Source apps and bulk removal of their access profiles through the official TypeScript SDK
// (sailpoint-api-client beta AppsBetaApi, paths /beta/source-apps…): docs/source-apps.md,
// CONTRACT §3.3 and the seed "bulk remove from a source app". Beta never requires
// X-SailPoint-Experimental, and the SDK does not send it.
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

async function createProfile(family) {
  const name = h.uniqueName(family);
  const created = await new sdk.AccessProfilesApi(config).createAccessProfile({ accessProfile: h.newProfile(w, name) });
  assert.equal(created.status, 201);
  return created.data;
}

test("beta source app: create, attach profiles, bulk remove, in-use rules, delete", async () => {
  const apps = new sdk.AppsBetaApi(config);
  const profiles = new sdk.AccessProfilesApi(config);
  const a = await createProfile("app a");
  const b = await createProfile("app b");

  const name = h.uniqueName("app");
  const created = await apps.createSourceApp({
    sourceAppCreateDtoBeta: {
      name,
      description: "source app created by the TypeScript SDK suite",
      accountSource: { id: w.sourceId, type: "SOURCE", name: w.sourceName },
    },
  });
  assert.equal(created.status, 200, JSON.stringify(created.data));
  const app = created.data;
  h.assertId(app.id, "source app id");
  assert.equal(app.name, name);
  assert.equal(app.accountSource.id, w.sourceId);

  const got = await apps.getSourceApp({ id: app.id });
  assert.equal(got.status, 200);
  assert.equal(got.data.name, name);
  assert.deepEqual((await apps.listAccessProfilesForSourceApp({ id: app.id })).data, []);

  // Attach both profiles with JSON Patch (add /accessProfiles/-).
  const patched = await apps.patchSourceApp({
    id: app.id,
    jsonPatchOperationBeta: [
      { op: "add", path: "/accessProfiles/-", value: a.id },
      { op: "add", path: "/accessProfiles/-", value: b.id },
    ],
  });
  assert.equal(patched.status, 200, JSON.stringify(patched.data));
  assert.deepEqual(patched.data.accessProfiles, [a.id, b.id]);
  const listed = await apps.listAccessProfilesForSourceApp({ id: app.id });
  assert.deepEqual(listed.data.map((d) => d.id), [a.id, b.id]);
  assert.equal(listed.data[0].sourceName, w.sourceName);
  assert.equal(listed.data[0].applicationId, app.id);
  assert.equal(listed.data[0].appName, name);

  // Bulk remove B: 200 with what remains; B itself is not deleted.
  const removed = await apps.deleteAccessProfilesFromSourceAppByBulk({ id: app.id, requestBody: [b.id] });
  assert.equal(removed.status, 200, JSON.stringify(removed.data));
  assert.deepEqual(removed.data.map((d) => d.id), [a.id]);
  assert.deepEqual((await apps.listAccessProfilesForSourceApp({ id: app.id })).data.map((d) => d.id), [a.id]);
  assert.equal((await profiles.getAccessProfile({ id: b.id })).status, 200, "bulk remove only unlinks");

  // B is no longer on the app: a bulk remove naming it is a 400 and removes nothing.
  const refused = await h.rejection(apps.deleteAccessProfilesFromSourceAppByBulk({ id: app.id, requestBody: [a.id, b.id] }));
  assert.equal(refused.status, 400, JSON.stringify(refused.data));
  assert.ok(JSON.stringify(refused.data).includes(b.id), "the 400 names the profile not on the app");
  assert.deepEqual((await apps.listAccessProfilesForSourceApp({ id: app.id })).data.map((d) => d.id), [a.id]);

  // A is held by the app: a single delete of A is refused (400), and A stays.
  const inUse = await h.rejection(profiles.deleteAccessProfile({ id: a.id }));
  assert.equal(inUse.status, 400, JSON.stringify(inUse.data));
  assert.equal((await profiles.getAccessProfile({ id: a.id })).status, 200);

  // Deleting the app frees A.
  const deleted = await apps.deleteSourceApp({ id: app.id });
  assert.equal(deleted.status, 200, JSON.stringify(deleted.data));
  assert.equal(deleted.data.id, app.id);
  await h.assertGone(() => apps.getSourceApp({ id: app.id }), "deleted app");
  for (const p of [a, b]) {
    assert.equal((await profiles.deleteAccessProfile({ id: p.id })).status, 204);
    await h.assertGone(() => profiles.getAccessProfile({ id: p.id }), "deleted profile");
  }
});

// Shared set-up of the TypeScript SDK suites: the SDK configuration for the accessd under
// test (ACCESSD_BASE_URL, ACCESSD_CLIENT_ID, ACCESSD_CLIENT_SECRET, as for the Python suites
// in ..), the "world" a profile is built in (an owner and a source with entitlements, read
// through the SDK), small assertion helpers, and `test`, node:test's test that also notes
// for the README's compatibility table what the SDK sent.
"use strict";

const assert = require("node:assert/strict");
const crypto = require("node:crypto");
const fs = require("node:fs");
const path = require("node:path");
const nodeTest = require("node:test");
// The SDK sends every request through this (the global) axios instance: its API classes
// default to it, and so does its token request.
const axios = require("axios");
const sdk = require("sailpoint-api-client");

// ---- evidence for the README's compatibility table (scripts/compat-table.py) ----------
// Every exchange of the SDK that got an answer is noted as (method, path). With
// SDK_RESULTS_DIR set (scripts/sdk-smoke.sh sets it per backend), each test appends one
// JSON line to SDK_RESULTS_DIR/<sdk>.jsonl: the SDK and its version, the test, whether it
// passed, and the pairs it sent, including those of `before` hooks that ran just before
// it. The script maps paths to (family, operationId) through the spec files.
const SDK_NAME = `sailpoint-api-client ${require("sailpoint-api-client/package.json").version}`;
let exchanges = [];

function note(config) {
  if (config && config.url) exchanges.push([String(config.method).toUpperCase(), new URL(config.url).pathname]);
}
axios.interceptors.response.use(
  (response) => {
    note(response.config);
    return response;
  },
  (error) => {
    if (error.response) note(error.config);
    return Promise.reject(error);
  },
);

function record(name, outcome) {
  const results = process.env.SDK_RESULTS_DIR;
  const calls = [...new Set(exchanges.map((c) => JSON.stringify(c)))].sort().map((c) => JSON.parse(c));
  exchanges = [];
  if (!results) return;
  const line = { sdk: SDK_NAME, test: `${path.basename((require.main && require.main.filename) || "")}::${name}`, outcome, calls };
  fs.appendFileSync(path.join(results, `${SDK_NAME.replace(/ /g, "-")}.jsonl`), `${JSON.stringify(line)}\n`);
}

// node:test's `test(name, fn)`, recording the outcome and the SDK's exchanges.
function test(name, fn) {
  return nodeTest.test(name, async (t) => {
    let outcome = "failed";
    try {
      await fn(t);
      outcome = "passed";
    } finally {
      record(name, outcome);
    }
  });
}

function env(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set (see sdk-tests/run.sh)`);
  return value;
}

// One Configuration per suite (`baseVar` names the env var of the server's URL): its constructor asks /oauth/token for a token with the SDK's
// own multipart/form-data request (client_credentials), as it does against ISC.
function configuration(baseVar = "ACCESSD_BASE_URL") {
  const base = env(baseVar).replace(/\/+$/, "");
  return new sdk.Configuration({
    baseurl: base,
    tokenUrl: `${base}/oauth/token`,
    clientId: env("ACCESSD_CLIENT_ID"),
    clientSecret: env("ACCESSD_CLIENT_SECRET"),
  });
}

function uniqueName(family) {
  return `ts-sdk ${family} ${crypto.randomUUID()}`;
}

const ID = /^[0-9a-f]{32}$/;

function assertId(value, what) {
  assert.match(String(value), ID, `${what}: expected a 32-hex-digit id, got ${value}`);
}

// An owner (GET /public-identities) and a source (GET /sources) with entitlements
// (GET /entitlements?filters=source.id eq "…"), by default through v3 and beta (v3 has no
// entitlement list); `apis` names the SDK classes of another family.
const V3_WORLD = { identities: "PublicIdentitiesApi", sources: "SourcesApi", entitlements: "EntitlementsBetaApi" };

async function world(config, apis = V3_WORLD) {
  const identities = await new sdk[apis.identities](config).getPublicIdentities({ limit: 10 });
  assert.equal(identities.status, 200);
  assert.ok(identities.data.length > 0, "GET /public-identities returned no identity");
  const owner = identities.data[0];
  assertId(owner.id, "public identity id");

  const sources = await new sdk[apis.sources](config).listSources({ limit: 50 });
  assert.equal(sources.status, 200);
  for (const source of sources.data) {
    const entitlements = await new sdk[apis.entitlements](config).listEntitlements({
      filters: `source.id eq "${source.id}"`,
    });
    assert.equal(entitlements.status, 200);
    if (entitlements.data.length > 0) {
      for (const e of entitlements.data) assert.equal(e.source.id, source.id);
      return {
        ownerId: owner.id,
        sourceId: source.id,
        sourceName: source.name,
        entitlementIds: entitlements.data.map((e) => e.id),
      };
    }
  }
  assert.fail(`none of the ${sources.data.length} sources has entitlements`);
}

function newProfile(w, name, requestable = true) {
  return {
    name,
    description: "created by the TypeScript SDK suite",
    owner: { type: "IDENTITY", id: w.ownerId },
    source: { type: "SOURCE", id: w.sourceId, name: w.sourceName },
    entitlements: w.entitlementIds.map((id) => ({ type: "ENTITLEMENT", id })),
    enabled: true,
    requestable,
  };
}

function assertProfile(profile, w, name, description) {
  assertId(profile.id, "access profile id");
  assert.equal(profile.name, name);
  assert.equal(profile.description, description);
  assert.deepEqual(profile.owner && [profile.owner.type, profile.owner.id], ["IDENTITY", w.ownerId]);
  assert.equal(profile.source.id, w.sourceId);
  assert.deepEqual(profile.entitlements.map((e) => e.id).sort(), [...w.entitlementIds].sort());
}

// The HTTP status of a rejected SDK call (axios rejects every non-2xx answer).
async function rejection(promise) {
  try {
    const response = await promise;
    assert.fail(`expected an error answer, got ${response.status}`);
  } catch (error) {
    if (!error.response) throw error;
    return error.response;
  }
}

function assertIscError(response, status, detailCode) {
  assert.equal(response.status, status, JSON.stringify(response.data));
  assert.equal(response.data.detailCode, detailCode, JSON.stringify(response.data));
  assert.match(String(response.data.trackingId), /^[0-9a-f]{32}$/);
  assert.ok(Array.isArray(response.data.messages) && response.data.messages.length > 0);
}

// Polls getTaskStatus until the task leaves PENDING/RUNNING; by default beta's (v3 has no
// task API; the SDK docs of the v3 bulk deletes point to beta's).
async function waitForTask(config, id, what, tasks = new sdk.TaskManagementBetaApi(config)) {
  for (let i = 0; i < 200; i++) {
    const status = await tasks.getTaskStatus({ id });
    assert.equal(status.status, 200);
    if (status.data.completed) return status.data;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  assert.fail(`${what}: task ${id} did not finish in 10 s`);
}

async function assertGone(get, what) {
  const response = await rejection(get());
  assertIscError(response, 404, "404 Not found");
  return what;
}

module.exports = {
  sdk,
  test,
  configuration,
  world,
  uniqueName,
  newProfile,
  assertId,
  assertProfile,
  assertIscError,
  assertGone,
  rejection,
  waitForTask,
};

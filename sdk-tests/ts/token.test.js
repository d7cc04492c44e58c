// The token request as the TypeScript SDK sends it: `new Configuration({…})` posts
// client_credentials to /oauth/token as multipart/form-data (CONTRACT §1), and every API
// call then sends the token it got as a bearer token.
"use strict";

const assert = require("node:assert/strict");
const h = require("./world");
const { sdk, test } = h;

test("the SDK's multipart token request yields a token the APIs accept", async () => {
  const config = h.configuration();
  const token = await config.accessToken;
  assert.equal(typeof token, "string");
  assert.equal(token.split(".").length, 3, "a JWT");
  const listed = await new sdk.AccessProfilesApi(config).listAccessProfiles({ limit: 1 });
  assert.equal(listed.status, 200);
  assert.ok(Array.isArray(listed.data));
});

test("a wrong client secret gets no token, and a call with a bogus token is 401", async () => {
  const base = process.env.ACCESSD_BASE_URL.replace(/\/+$/, "");
  const originalError = console.error;
  console.error = () => {}; // the SDK prints "Unable to fetch access token" before rejecting
  try {
    const config = new sdk.Configuration({
      baseurl: base,
      tokenUrl: `${base}/oauth/token`,
      clientId: process.env.ACCESSD_CLIENT_ID,
      clientSecret: "not-the-secret",
    });
    await assert.rejects(config.accessToken, /401/);
    // The rejected token promise makes every API call of this configuration fail.
    await assert.rejects(new sdk.AccessProfilesApi(config).listAccessProfiles({ limit: 1 }));
  } finally {
    console.error = originalError;
  }
  const unauthenticated = await h.rejection(
    new sdk.AccessProfilesApi(new sdk.Configuration({ baseurl: base, accessToken: "not-a-token" })).listAccessProfiles({ limit: 1 }),
  );
  assert.equal(unauthenticated.status, 401);
});

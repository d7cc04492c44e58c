"""Shared plumbing for the SDK smoke tests.

This file is loaded by both suites, which run in different virtualenvs (sailpoint 1.4.2
and sailpoint 2.x), so it must not import the SDK. It owns: reading the ACCESSD_* env
vars, logging every request/response the SDK puts on the wire (pytest prints the log of a
failing test, which is the evidence a server engineer needs), and small assertions shared
by the three route families.
"""

import datetime
import json
import logging
import os
import re
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

import pytest

WIRE = logging.getLogger("sdk-wire")
BODY_LIMIT = 4000


class Target:
    """Where the server is and how to get a token from it."""

    def __init__(self, base_url, client_id, client_secret):
        self.base_url = base_url.rstrip("/")
        self.client_id = client_id
        self.client_secret = client_secret


@pytest.fixture(scope="session")
def target():
    names = ("ACCESSD_BASE_URL", "ACCESSD_CLIENT_ID", "ACCESSD_CLIENT_SECRET")
    missing = [n for n in names if not os.environ.get(n)]
    if missing:
        pytest.fail(f"set {', '.join(missing)} (e.g. ACCESSD_BASE_URL=http://127.0.0.1:18080)", pytrace=False)
    return Target(*(os.environ[n] for n in names))


@pytest.fixture(scope="session")
def limited_target(target):
    """A second accessd with a small rate limit (scripts/sdk-smoke.sh starts it with 5
    requests per 10 s), same admin client as `target`."""
    base = os.environ.get("ACCESSD_LIMITED_BASE_URL")
    if not base:
        pytest.fail("set ACCESSD_LIMITED_BASE_URL to an accessd started with "
                    "ACCESSD_RATE_LIMIT_REQUESTS=5 ACCESSD_RATE_LIMIT_WINDOW_SECS=10", pytrace=False)
    return Target(base, target.client_id, target.client_secret)


def require_token(configuration, target):
    """The SDK's Configuration swallows a failed token request (it prints and leaves
    access_token None). Turn that into a failure that shows what the server answered."""
    if configuration.access_token:
        return
    form = urllib.parse.urlencode({
        "grant_type": "client_credentials",
        "client_id": target.client_id,
        "client_secret": target.client_secret,
    }).encode()
    request = urllib.request.Request(f"{target.base_url}/oauth/token", data=form, method="POST")
    request.add_header("Content-Type", "application/x-www-form-urlencoded")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            detail = f"{response.status} {response.read()[:BODY_LIMIT]!r}"
    except urllib.error.HTTPError as e:
        detail = f"{e.code} {e.read()[:BODY_LIMIT]!r}"
    except OSError as e:
        detail = f"no answer: {e}"
    pytest.fail(f"the SDK could not get a token from POST {target.base_url}/oauth/token; "
                f"the same request by hand answers {detail}", pytrace=False)


# ---- the admin API (`/_accessd/`, spec/accessd-admin.json) ---------------------------------
#
# Faults, the clock and the journal belong to the server, not to a test: whatever one test
# sets, every request any client sends meets. So the tests that use them take the `controls`
# fixture, which starts them from no faults, the real clock and an empty journal, and puts
# the first two back after the test however it ended; and the suites run one test at a time
# (sdk-tests/run.sh runs these tests in a pytest run of their own, after the others).


class AdminError(AssertionError):
    """The admin API answered something other than what the call expects."""


class Admin:
    """The admin API through plain urllib, with a token of the start-up admin client (it
    holds the scope `accessd:admin`). Not the SDK: these calls are neither in the wire log
    nor in the compatibility table. A token the moved clock expired is replaced once."""

    def __init__(self, target):
        self.target = target
        self._token = None

    def issue_token(self):
        """A token answer of POST /oauth/token for the admin client (CONTRACT §6), parsed."""
        form = urllib.parse.urlencode({
            "grant_type": "client_credentials",
            "client_id": self.target.client_id,
            "client_secret": self.target.client_secret,
        }).encode()
        request = urllib.request.Request(f"{self.target.base_url}/oauth/token", data=form, method="POST")
        request.add_header("Content-Type", "application/x-www-form-urlencoded")
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    def call(self, method, path, body=None, expect=200):
        """`method path` with `body` as JSON; the parsed answer (None when empty). Any status
        but `expect` fails with the answer."""
        for attempt in (1, 2):
            if self._token is None:
                self._token = self.issue_token()["access_token"]
            request = urllib.request.Request(
                f"{self.target.base_url}{path}", method=method,
                data=None if body is None else json.dumps(body).encode())
            request.add_header("Authorization", f"Bearer {self._token}")
            if body is not None:
                request.add_header("Content-Type", "application/json")
            try:
                with urllib.request.urlopen(request, timeout=10) as response:
                    status, data = response.status, response.read()
            except urllib.error.HTTPError as e:
                status, data = e.code, e.read()
            if status == 401 and attempt == 1:
                self._token = None  # issued before the clock moved past its expiry
                continue
            break
        if status != expect:
            raise AdminError(f"{method} {path} {json.dumps(body) if body is not None else ''}: "
                             f"expected {expect}, got {status} {data[:BODY_LIMIT]!r}")
        return json.loads(data) if data else None

    def add_fault(self, **rule):
        """POST /_accessd/faults: the rule as stored (with its `id`)."""
        return self.call("POST", "/_accessd/faults", rule, expect=201)

    def faults(self):
        return self.call("GET", "/_accessd/faults")

    def clear_faults(self):
        self.call("DELETE", "/_accessd/faults", expect=204)

    def clock(self, **change):
        """POST /_accessd/clock with `change` (real, freeze, to, advanceSeconds); the clock after."""
        return self.call("POST", "/_accessd/clock", change)

    def requests(self, **filters):
        """GET /_accessd/requests: the journal, oldest first, narrowed by `filters`
        (operationId, status, clientId, since)."""
        query = urllib.parse.urlencode(filters)
        return self.call("GET", "/_accessd/requests" + (f"?{query}" if query else ""))

    def clear_requests(self):
        self.call("DELETE", "/_accessd/requests", expect=204)

    def restore(self):
        """No faults, the real clock. Both are tried even if the first fails."""
        try:
            self.clear_faults()
        finally:
            clock = self.clock(real=True)
            assert clock["frozen"] is False, f"the clock is still frozen after real: {clock}"


@pytest.fixture
def controls(target):
    """The admin API for one test: no faults, the real clock and an empty journal when it
    starts; no faults and the real clock again when it ends, whatever the test did."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        pytest.fail("faults and the clock are global to the server: run these tests alone, "
                    "not in parallel with others", pytrace=False)
    admin = Admin(target)
    admin.restore()
    admin.clear_requests()
    try:
        yield admin
    finally:
        admin.restore()


def log_wire(api_client):
    """Wrap the SDK's REST client so each exchange is logged (token redacted) and noted
    for the compatibility table (`EXCHANGES`).

    Both SDK generations route every call through `api_client.rest_client.request(...)`
    and return a RESTResponse whose read() caches the body, so reading it here does not
    disturb the SDK's own deserialisation.
    """
    rest = api_client.rest_client
    if getattr(rest, "_wire_logged", False):
        return api_client
    original = rest.request

    def request(method, url, headers=None, body=None, post_params=None, _request_timeout=None):
        shown = {k: ("Bearer <redacted>" if k.lower() == "authorization" else v)
                 for k, v in (headers or {}).items()}
        sent = json.dumps(body) if body is not None else ""
        WIRE.info(">>> %s %s\n    headers: %s\n    body: %s", method, url, shown, sent[:BODY_LIMIT])
        response = original(method, url, headers=headers, body=body, post_params=post_params,
                            _request_timeout=_request_timeout)
        EXCHANGES.append((method.upper(), urllib.parse.urlsplit(url).path))
        data = response.read() or b""
        WIRE.info("<<< %s %s\n    headers: %s\n    body: %s", response.status, response.reason,
                  dict(response.getheaders()), data[:BODY_LIMIT].decode("utf-8", "replace"))
        return response

    rest.request = request
    rest._wire_logged = True
    return api_client


# ---- evidence for the README's compatibility table (scripts/compat-table.py) -------------
#
# Every exchange the SDK itself puts on the wire (through log_wire; the raw urllib helpers
# here are not the SDK and are not noted) is kept with the test it belongs to. With
# SDK_RESULTS_DIR set (scripts/sdk-smoke.sh sets it per backend), each test appends one
# JSON line to SDK_RESULTS_DIR/<sdk>.jsonl: the SDK and its version, the test, its outcome
# over every phase (set-up, call, tear-down) and the (method, path) pairs it sent. Calls made
# while a fixture is set up or torn down belong to the test that caused it. The script
# maps paths to (family, operationId) through the spec files.

EXCHANGES = []
_OUTCOME = pytest.StashKey()


def sdk_name():
    from importlib.metadata import version
    return f"sailpoint {version('sailpoint')}"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    EXCHANGES.clear()
    item.stash[_OUTCOME] = "passed"
    yield
    results = os.environ.get("SDK_RESULTS_DIR")
    if not results:
        return
    sdk = sdk_name()
    line = {
        "sdk": sdk,
        "test": item.nodeid,
        "outcome": item.stash[_OUTCOME],
        "calls": sorted(set(EXCHANGES)),
    }
    with open(os.path.join(results, sdk.replace(" ", "-") + ".jsonl"), "a", encoding="utf-8") as f:
        f.write(json.dumps(line) + "\n")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    report = (yield).get_result()
    # The first phase that did not pass decides; only "passed" counts in the table.
    if item.stash[_OUTCOME] == "passed" and not report.passed:
        item.stash[_OUTCOME] = report.outcome


def record_attempts(api_client):
    """Wrap the SDK's REST client so each call records the HTTP statuses of every attempt
    urllib3 made for it (its retry history, then the final answer). Returns the list the
    calls are appended to."""
    rest = api_client.rest_client
    calls = []
    original = rest.request

    def request(*args, **kwargs):
        response = original(*args, **kwargs)
        retries = getattr(response.response, "retries", None)
        history = [h.status for h in (retries.history if retries else ())]
        calls.append(history + [response.status])
        return response

    rest.request = request
    return calls


RATE_LIMIT_BODY = b'{"message":" Rate Limit Exceeded "}'


def exhaust(target, path, token, attempts=100):
    """Send GETs of `path` with `token` (plain urllib, no retries) until the server answers
    429, and check that answer (CONTRACT §8). Returns its Retry-After seconds."""
    for _ in range(attempts):
        request = urllib.request.Request(f"{target.base_url}{path}")
        request.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                response.read()
        except urllib.error.HTTPError as e:
            body = e.read()
            assert e.code == 429, f"GET {path}: expected 200 or 429, got {e.code} {body!r}"
            assert body == RATE_LIMIT_BODY, f"429 body should be exactly {RATE_LIMIT_BODY!r}, got {body!r}"
            retry_after = e.headers.get("Retry-After")
            assert retry_after and retry_after.isdigit() and int(retry_after) >= 1, \
                f"429 needs Retry-After in whole seconds, got {retry_after!r}"
            return int(retry_after)
    pytest.fail(f"no 429 after {attempts} GETs of {path}: is the server rate-limited?")


def unique_name(family):
    return f"sdk-smoke-{family}-{uuid.uuid4().hex[:12]}"


def header(headers, name):
    """ApiResponse.headers is a plain dict with the server's spelling of each name
    (pydantic turns urllib3's case-insensitive HTTPHeaderDict into a dict), so look up
    case-insensitively."""
    for key, value in (headers or {}).items():
        if key.lower() == name.lower():
            return value
    return None


ID_RE = re.compile(r"^[0-9a-f]{32}$")


def assert_id(value, what):
    assert isinstance(value, str) and ID_RE.match(value), f"{what} should be 32 lowercase hex (CONTRACT §2), got {value!r}"


def assert_utc_datetime(value, what):
    assert isinstance(value, datetime.datetime), f"{what} should deserialize to a datetime, got {value!r}"
    assert value.tzinfo is not None and value.utcoffset() == datetime.timedelta(0), \
        f"{what} should be UTC with an explicit offset (RFC 3339 with Z), got {value!r}"


def assert_isc_error(exc, status):
    """The SDK raised ApiException for `status`; its body should be the ISC error body (§7)."""
    assert exc.status == status, f"expected HTTP {status}, got {exc.status}: {exc.body}"
    try:
        body = json.loads(exc.body)
    except (TypeError, ValueError):
        pytest.fail(f"HTTP {status} body is not JSON: {exc.body!r}")
    assert isinstance(body.get("detailCode"), str), f"ISC error body lacks detailCode: {body}"
    assert_id(body.get("trackingId"), "trackingId")
    messages = body.get("messages")
    assert isinstance(messages, list) and messages and isinstance(messages[0].get("text"), str), \
        f"ISC error body lacks messages[].text: {body}"
    return body


# ---- deletion (CONTRACT §3, §4) -----------------------------------------------------------

IN_USE_DETAIL_CODE = "400.2.1.0 Object in use by another"


def in_use_text(profile_name):
    return f'The "{profile_name}" access profile can\'t be deleted because it\'s in use.'


def assert_in_use_error(exc, profile_name):
    """A single delete of a profile something uses: 400 with the ISC in-use body (§3.1)."""
    body = assert_isc_error(exc, 400)
    assert body["detailCode"] == IN_USE_DETAIL_CODE, \
        f"in-use delete: detailCode should be {IN_USE_DETAIL_CODE!r}, got {body['detailCode']!r} in {body}"
    texts = [m.get("text") for m in body["messages"]]
    assert in_use_text(profile_name) in texts, \
        f"in-use delete: messages[].text should contain {in_use_text(profile_name)!r}, got {texts}"
    return body


def used_by(in_use):
    """The SDK's inUse list as plain tuples: [(accessProfileId, [(type, id, name), ...]), ...]."""
    return [(u.access_profile_id, [(r.type, r.id, r.name) for r in (u.used_by or [])])
            for u in (in_use or [])]


def assert_used_by_role(in_use, profile_id, role_id, role_name):
    """A bulk-delete answer's inUse names exactly `profile_id`, used by that one role (§3.2)."""
    got = used_by(in_use)
    want = [(profile_id, [("ROLE", role_id, role_name)])]
    assert got == want, f"inUse should be {want} (accessProfileId, usedBy[(type, id, name)]), got {got}"


def wait_for_task(fetch, task_id, what, timeout=10.0, interval=0.1):
    """Poll `fetch(task_id)` (an SDK get-task-status call) until the task has a
    completionStatus, then require SUCCESS (§4). Fails with the last status seen."""
    return wait_for_completion(fetch, task_id, what, "SUCCESS", timeout, interval)


def wait_for_completion(fetch, task_id, what, expected, timeout=10.0, interval=0.1):
    """Poll `fetch(task_id)` until the task has a completionStatus, then require `expected`
    and a UTC `completed` no earlier than `created` (§4). Fails with the last status seen."""
    deadline = time.monotonic() + timeout
    polls = 0
    while True:
        status = fetch(task_id)
        polls += 1
        assert status is not None, \
            f"get task status {task_id} ({what}) gave None: the SDK maps only 200 to TaskStatus"
        if status.completion_status is not None:
            break
        if time.monotonic() >= deadline:
            pytest.fail(f"task {task_id} ({what}) had no completionStatus after {polls} polls "
                        f"in {timeout}s; last status: {status!r}")
        time.sleep(interval)
    assert status.id == task_id, f"asked for task {task_id}, got {status.id}"
    assert status.completion_status == expected, \
        f"task {task_id} ({what}) ended {status.completion_status}, expected {expected}; " \
        f"messages: {status.messages!r}; status: {status!r}"
    # §4: completed and completionStatus are written together.
    assert_utc_datetime(status.completed, f"task {task_id} completed")
    assert_utc_datetime(status.created, f"task {task_id} created")
    assert status.completed >= status.created, f"task {task_id} completed before it was created: {status!r}"
    return status


# ---- source apps (docs/source-apps.md, CONTRACT §3.3) -------------------------------------

EXPERIMENTAL_HEADER_ERROR = {"error": "Experimental Header is missing or invalid."}


def assert_experimental_header_error(exc, what):
    """A /source-apps/v1 call without `X-SailPoint-Experimental: true`: 400 with exactly the
    body of CONTRACT §3.3 (not the ISC error body)."""
    assert exc.status == 400, f"{what}: expected HTTP 400, got {exc.status}: {exc.body}"
    try:
        body = json.loads(exc.body)
    except (TypeError, ValueError):
        pytest.fail(f"{what}: the 400 body is not JSON: {exc.body!r}")
    assert body == EXPERIMENTAL_HEADER_ERROR, f"{what}: the 400 body should be exactly {EXPERIMENTAL_HEADER_ERROR}, got {body}"


def assert_source_app(app, world, name, description, enabled=False, provision_request_enabled=False):
    """A SourceApp (or SourceAppPatchDto) as docs/source-apps.md describes it. `world` gives
    the account source (source_id, source_name)."""
    assert type(app).__name__ in ("SourceApp", "SourceAppPatchDto"), f"expected a SourceApp model, got {app!r}"
    assert_id(app.id, "source app id")
    assert isinstance(app.cloud_app_id, str) and app.cloud_app_id.isdigit(), \
        f"cloudAppId should be the app's numeric id as a string, got {app.cloud_app_id!r}"
    assert app.name == name, f"source app name: {app.name!r}"
    assert app.description == description, f"source app description: {app.description!r}"
    assert app.enabled is enabled, f"source app enabled should be {enabled}: {app!r}"
    assert app.provision_request_enabled is provision_request_enabled, \
        f"source app provisionRequestEnabled should be {provision_request_enabled}: {app!r}"
    assert app.match_all_accounts is False, f"matchAllAccounts defaults to false: {app!r}"
    assert app.app_center_enabled is True, f"new apps are appCenterEnabled: {app!r}"
    source = app.account_source
    assert source is not None, f"source app without accountSource: {app!r}"
    assert (source.id, source.type, source.name) == (world.source_id, "SOURCE", world.source_name), \
        f"accountSource (id, type, name): {(source.id, source.type, source.name)}"
    assert source.use_for_password_management is False and source.password_policies == [], \
        f"accountSource useForPasswordManagement/passwordPolicies: {source!r}"
    assert app.owner is not None and app.owner.type == "IDENTITY", f"source app owner: {app.owner!r}"
    assert_id(app.owner.id, "source app owner id")
    assert_utc_datetime(app.created, "source app created")
    assert_utc_datetime(app.modified, "source app modified")
    assert app.modified >= app.created


def assert_access_profile_details(details, profile, world, app, approval_schemes, request_comments_required):
    """One AccessProfileDetails of `app` (beta schema: sourceId/appId integers, approvalSchemes
    a comma-separated string, entitlements a list of ids) describing `profile`."""
    assert type(details).__name__ == "AccessProfileDetails", f"expected AccessProfileDetails, got {details!r}"
    assert details.id == profile.id
    assert details.name == profile.name
    assert details.description == profile.description
    assert details.disabled is False, f"the profile is enabled, so disabled must be false: {details!r}"
    assert details.requestable is True, f"requestable: {details!r}"
    assert details.protected is False, f"protected: {details!r}"
    assert details.owner_id == world.owner_id, f"ownerId: {details.owner_id!r}"
    # The SDK's StrictInt already rejects strings; bool is an int subclass, so be explicit.
    assert type(details.source_id) is int, f"sourceId should be an integer, got {details.source_id!r}"
    assert details.source_name == world.source_name, f"sourceName: {details.source_name!r}"
    assert type(details.app_id) is int, f"appId should be an integer, got {details.app_id!r}"
    assert details.app_id == int(app.cloud_app_id), \
        f"appId {details.app_id!r} should be the app's numeric id (cloudAppId {app.cloud_app_id!r})"
    assert details.app_name == app.name, f"appName: {details.app_name!r}"
    assert details.application_id == app.id, f"applicationId should be the app's id: {details.application_id!r}"
    assert details.type == "source", f"type: {details.type!r}"
    assert isinstance(details.entitlements, list) and sorted(details.entitlements) == sorted(world.entitlement_ids), \
        f"entitlements should be the list of entitlement ids {world.entitlement_ids}, got {details.entitlements!r}"
    assert details.entitlement_count == len(world.entitlement_ids), f"entitlementCount: {details.entitlement_count!r}"
    assert details.segments == [], f"segments: {details.segments!r}"
    assert isinstance(details.approval_schemes, str) and details.approval_schemes == approval_schemes, \
        f"approvalSchemes should be the string {approval_schemes!r}, got {details.approval_schemes!r}"
    assert details.revoke_request_approval_schemes == "", \
        f"revokeRequestApprovalSchemes with no revocation config: {details.revoke_request_approval_schemes!r}"
    assert details.request_comments_required is request_comments_required, \
        f"requestCommentsRequired: {details.request_comments_required!r}"
    assert details.denied_comments_required is False, f"deniedCommentsRequired: {details.denied_comments_required!r}"
    assert_utc_datetime(details.created, "access profile details created")
    assert_utc_datetime(details.modified, "access profile details modified")


def assert_used_by_application(in_use, profile_id, app_id, app_name):
    """A bulk-delete answer's inUse names exactly `profile_id`, used by that one source app."""
    got = used_by(in_use)
    want = [(profile_id, [("APPLICATION", app_id, app_name)])]
    assert got == want, f"inUse should be {want} (accessProfileId, usedBy[(type, id, name)]), got {got}"


APPLICATION_USAGE_WARNING = r"unknown value: APPLICATION"

#!/usr/bin/env bash
# SDK smoke test: the official Python and TypeScript SDKs against an accessd that is already running.
# Needs ACCESSD_BASE_URL, ACCESSD_CLIENT_ID, ACCESSD_CLIENT_SECRET (an ORG_ADMIN client),
# ACCESSD_HELD_BASE_URL (a second accessd with the same admin client, started with
# ACCESSD_TASK_RUNNER=false) and ACCESSD_IDENTITY_PROFILE_ID (an identity profile of the
# main one); scripts/sdk-smoke.sh sets them all.
# With ACCESSD_LIMITED_BASE_URL (a second accessd with the same admin client, started with
# ACCESSD_RATE_LIMIT_REQUESTS=5 ACCESSD_RATE_LIMIT_WINDOW_SECS=10) it also runs the
# rate-limit suites against that one; without it, it says they were not run.
# Runs every suite even if one fails; exits non-zero if any failed.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$here"

"$here/setup.sh" || exit 1

status=0
# One suite at a time, one test at a time: test_controls_v2025.py sets faults and moves the
# server's clock, which every client of that server meets. It comes last in its run (after
# the other suites' tests, before the other SDKs start) and its `controls` fixture puts the
# server back (no faults, the real clock) after each test.
echo "== sailpoint 1.4.2 (v3, beta, v2024, v2025, v2026; then the admin API's controls)"
"$here/.venv-v3/bin/python" -m pytest -q -p no:cacheprovider test_v3_beta.py test_deletion_v3_beta.py test_source_apps_beta.py \
  test_year_families.py test_tasks_year_families.py test_controls_v2025.py "$@" || status=1
echo "== sailpoint 2.x (per-service v1)"
"$here/.venv-v1/bin/python" -m pytest -q -p no:cacheprovider test_v1.py test_deletion_v1.py test_source_apps_v1.py "$@" || status=1
echo "== sailpoint-api-client (TypeScript: v3, beta, v2024)"
(cd "$here/ts" && node --test --test-concurrency=1 --test-reporter=spec) || status=1
if [ -n "${ACCESSD_LIMITED_BASE_URL:-}" ]; then
  echo "== rate limits, sailpoint 1.4.2 (v3)"
  "$here/.venv-v3/bin/python" -m pytest -q -p no:cacheprovider test_rate_limit_v3.py "$@" || status=1
  echo "== rate limits, sailpoint 2.x (per-service v1)"
  "$here/.venv-v1/bin/python" -m pytest -q -p no:cacheprovider test_rate_limit_v1.py "$@" || status=1
else
  echo "== rate limits: NOT RUN (no ACCESSD_LIMITED_BASE_URL; scripts/sdk-smoke.sh sets it)"
fi
exit $status

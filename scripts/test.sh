#!/usr/bin/env bash
# The test command: the Rust unit and integration tests (real HTTP, real database),
# then the official Python and TypeScript SDKs, then schemathesis, against a running
# accessd. Installs what it needs
# (the SDK virtualenvs) through the project's own scripts. The README's compatibility table
# must be the one the SDK results of both backends give (scripts/compat-table.py --check).
#
# The integration suite runs on SQLite always, and a second time on PostgreSQL when
# TEST_DATABASE_URL is set (each test in a fresh schema of that database); tests that
# need PostgreSQL are listed as ignored in the SQLite pass and run in that one. With
# ACCESSD_REQUIRE_POSTGRES=1 (as .ci/run sets) a missing TEST_DATABASE_URL fails.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

echo "== cargo test (SQLite)"
ACCESSD_TEST_BACKEND=sqlite cargo test

if [ -n "${TEST_DATABASE_URL:-}" ]; then
    echo "== cargo test (PostgreSQL at ${TEST_DATABASE_URL##*@})"
    ACCESSD_TEST_BACKEND=postgres cargo test --test api --test schema_parity -- --include-ignored
elif [ "${ACCESSD_REQUIRE_POSTGRES:-}" = 1 ]; then
    echo "FAIL: ACCESSD_REQUIRE_POSTGRES=1 but TEST_DATABASE_URL is not set" >&2
    exit 1
else
    echo "*** PostgreSQL pass NOT RUN: TEST_DATABASE_URL is not set" \
         "(e.g. postgres://postgres@127.0.0.1:5432/postgres) ***"
fi

echo "== official SDKs (SQLite)"
sdk_results=$(mktemp -d)
trap 'rm -rf "$sdk_results"' EXIT
SDK_RESULTS_DIR="$sdk_results" bash scripts/sdk-smoke.sh
if [ -n "${TEST_DATABASE_URL:-}" ]; then
    echo "== official SDKs (PostgreSQL)"
    SDK_RESULTS_DIR="$sdk_results" SDK_SMOKE_BACKEND=postgres bash scripts/sdk-smoke.sh
    echo "== README compatibility table (generated from the SDK results of both backends)"
    python3 scripts/compat-table.py --check --results "$sdk_results"
else
    echo "*** README compatibility table check NOT RUN: it needs the SDK results of both backends ***"
fi

echo "== schemathesis (SQLite)"
bash scripts/schemathesis.sh
if [ -n "${TEST_DATABASE_URL:-}" ]; then
    echo "== schemathesis (PostgreSQL)"
    SCHEMATHESIS_BACKEND=postgres bash scripts/schemathesis.sh
fi

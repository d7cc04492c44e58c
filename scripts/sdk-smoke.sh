#!/usr/bin/env bash
# Starts a real accessd (debug build) on a free port with a fresh database and the demo
# tenant (SQLite; with SDK_SMOKE_BACKEND=postgres a fresh schema in TEST_DATABASE_URL), and a second one with a small rate limit (5 requests per 10 s) for
# the rate-limit suites, and a third one without a task runner (its tasks stay pending,
# for the task-management suites), runs the official-SDK smoke tests (sdk-tests/run.sh)
# against them, and stops them. Exits non-zero if a server does not start or any SDK
# test fails.
# The suites' results (what each SDK exercised, and whether the test passed) go to
# ${SDK_RESULTS_DIR:-sdk-tests/results}/<backend>/, emptied first; scripts/compat-table.py
# renders them into the README.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

cargo build --quiet --bin accessd
bin="${CARGO_TARGET_DIR:-$root/target}/debug/accessd"
work=$(mktemp -d)
client_id="sdk-smoke-admin"
client_secret=$(python3 -c 'import secrets; print(secrets.token_hex(24))')

backend="${SDK_SMOKE_BACKEND:-sqlite}"
results="${SDK_RESULTS_DIR:-$root/sdk-tests/results}/$backend"
rm -rf "$results"
mkdir -p "$results"
pids=()
schemas=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  for schema in "${schemas[@]}"; do
    psql "$TEST_DATABASE_URL" -X -q -c "DROP SCHEMA IF EXISTS $schema CASCADE" >/dev/null 2>&1 || true
  done
  rm -rf "$work"
}
trap cleanup EXIT

# database_url NAME: sets $url to a new database for one server (not in a subshell:
# it records the schema for cleanup).
database_url() {
  local name=$1
  if [ "$backend" = postgres ]; then
    local schema="accessd_sdk_$$_$name"
    psql "$TEST_DATABASE_URL" -X -q -c "CREATE SCHEMA $schema" >/dev/null
    schemas+=("$schema")
    local sep='?'; [[ "$TEST_DATABASE_URL" == *\?* ]] && sep='&'
    url="${TEST_DATABASE_URL}${sep}options=-c%20search_path%3D${schema}"
  else
    url="sqlite://$work/$name.db"
  fi
}

# start NAME [VAR=VALUE...]: starts an accessd with its own database and log, and sets
# $base to its URL once it prints that it is listening (port 0 → a free port).
start() {
  local name=$1; shift
  local log="$work/$name.log"
  : >"$log"  # exists before the poll below reads it, however late the process starts
  local url
  database_url "$name"
  env ACCESSD_ADDR=127.0.0.1:0 \
    ACCESSD_DATABASE_URL="$url" \
    ACCESSD_DEMO=true \
    ACCESSD_ADMIN_CLIENT_ID="$client_id" \
    ACCESSD_ADMIN_CLIENT_SECRET="$client_secret" \
    "$@" "$bin" serve >"$log" 2>&1 &
  local pid=$!
  pids+=("$pid")
  base=""
  for _ in $(seq 1 300); do
    base=$(sed -n 's/^accessd is listening on \(http[^ ]*\).*/\1/p' "$log" | head -n 1)
    [ -n "$base" ] && break
    kill -0 "$pid" 2>/dev/null || { echo "accessd ($name) exited during start-up:"; cat "$log"; exit 1; }
    sleep 0.1
  done
  [ -n "$base" ] || { echo "accessd ($name) did not start:"; cat "$log"; exit 1; }
  echo "sdk-smoke: accessd ($name, $backend) at $base"
  database=$url
}

# The functional suites send well over 100 requests per 10 s per family (the v1 header
# test alone sends 30 in a burst) and the SDKs do not retry POSTs on 429, so the main
# server's budget is raised; the limited server below checks the default behaviour.
start main ACCESSD_RATE_LIMIT_REQUESTS=100000
main_base=$base
# No operation of the spec cut lists identity profiles; the lifecycle-state suites take the
# demo tenant's one from the export.
identity_profile_id=$("$bin" export --database-url "$database" | python3 -c '
import json, sys
tables = {t["name"]: t for t in json.load(sys.stdin)["tables"]}
print(tables["identity_profiles"]["rows"][0][0])')
start limited ACCESSD_RATE_LIMIT_REQUESTS=5 ACCESSD_RATE_LIMIT_WINDOW_SECS=10
limited_base=$base
start held ACCESSD_RATE_LIMIT_REQUESTS=100000 ACCESSD_TASK_RUNNER=false
held_base=$base

status=0
ACCESSD_BASE_URL="$main_base" ACCESSD_LIMITED_BASE_URL="$limited_base" ACCESSD_HELD_BASE_URL="$held_base" \
ACCESSD_IDENTITY_PROFILE_ID="$identity_profile_id" \
ACCESSD_CLIENT_ID="$client_id" ACCESSD_CLIENT_SECRET="$client_secret" SDK_RESULTS_DIR="$results" \
  bash "$root/sdk-tests/run.sh" || status=$?
if [ "$status" -ne 0 ]; then
  for name in main limited held; do
    echo "---- accessd ($name) log (last 60 lines) ----"
    tail -n 60 "$work/$name.log"
  done
fi
exit "$status"

#!/usr/bin/env bash
# schemathesis (pinned in conformance/requirements.txt, installed into
# conformance/.venv by this script) against a live accessd: every served operation of
# the v3, beta, v1, v2024, v2025 and v2026 spec files (SCHEMATHESIS_FAMILIES to pick
# some), positive and negative data, the checks configured in
# conformance/schemathesis.toml with the deliberate differences of spec/deviations.json.
# Fails on any other finding.
#
# Bounded for CI: SCHEMATHESIS_MAX_EXAMPLES (default 10) examples per operation and
# phase, and SCHEMATHESIS_MAX_TIME seconds (default 30) per family. For a longer local
# run: SCHEMATHESIS_MAX_EXAMPLES=200 SCHEMATHESIS_MAX_TIME=1800 bash scripts/schemathesis.sh
#
# The server is a debug build on a fresh database with the demo tenant: SQLite, or with
# SCHEMATHESIS_BACKEND=postgres a fresh schema in TEST_DATABASE_URL.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

venv="$root/conformance/.venv"
pinned=$(sed -n 's/^schemathesis==//p' conformance/requirements.txt)
if ! "$venv/bin/python" -c "import sys; from importlib.metadata import version; sys.exit(version('schemathesis') != '$pinned')" 2>/dev/null; then
  echo "schemathesis: installing schemathesis==$pinned into conformance/.venv"
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r conformance/requirements.txt
fi

cargo build --quiet --bin accessd
bin="${CARGO_TARGET_DIR:-$root/target}/debug/accessd"
work=$(mktemp -d)
backend="${SCHEMATHESIS_BACKEND:-sqlite}"
schema=""
pid=""
cleanup() {
  [ -n "$pid" ] && { kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; }
  [ -n "$schema" ] && psql "$TEST_DATABASE_URL" -X -q -c "DROP SCHEMA IF EXISTS $schema CASCADE" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

if [ "$backend" = postgres ]; then
  schema="accessd_schemathesis_$$"
  psql "$TEST_DATABASE_URL" -X -q -c "CREATE SCHEMA $schema" >/dev/null
  sep='?'; [[ "$TEST_DATABASE_URL" == *\?* ]] && sep='&'
  url="${TEST_DATABASE_URL}${sep}options=-c%20search_path%3D${schema}"
else
  url="sqlite://$work/schemathesis.db"
fi

# The log exists before the server starts: the redirection below happens in the
# background child, which a loaded machine may run after the first read of the log.
: >"$work/server.log"
client_id="schemathesis-admin"
client_secret=$(python3 -c 'import secrets; print(secrets.token_hex(24))')
ACCESSD_ADDR=127.0.0.1:0 ACCESSD_DATABASE_URL="$url" ACCESSD_DEMO=true \
  ACCESSD_ADMIN_CLIENT_ID="$client_id" ACCESSD_ADMIN_CLIENT_SECRET="$client_secret" \
  ACCESSD_RATE_LIMIT_REQUESTS=0 \
  "$bin" serve >"$work/server.log" 2>&1 &
pid=$!
base=""
for _ in $(seq 1 300); do
  base=$(sed -n 's/^accessd is listening on \(http[^ ]*\).*/\1/p' "$work/server.log" | head -n 1)
  [ -n "$base" ] && break
  kill -0 "$pid" 2>/dev/null || { echo "accessd exited during start-up:"; cat "$work/server.log"; exit 1; }
  sleep 0.1
done
[ -n "$base" ] || { echo "accessd did not start:"; cat "$work/server.log"; exit 1; }
echo "schemathesis: accessd ($backend) at $base"

token=$(curl -sf -d grant_type=client_credentials -d "client_id=$client_id" \
  -d "client_secret=$client_secret" "$base/oauth/token" |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["access_token"])')

status=0
for family in ${SCHEMATHESIS_FAMILIES:-v3 beta v1 v2024 v2025 v2026}; do
  prefix="/$family"; [ "$family" = v1 ] && prefix=""
  excluded=()
  while IFS= read -r op; do excluded+=(--exclude-operation-id "$op"); done < <(
    python3 -c 'import json, sys
for n in json.load(open("spec/deviations.json"))["notServed"]:
    if n["family"] == sys.argv[1]: print(n["operation"])' "$family")
  echo "== schemathesis: $family ($(( ${#excluded[@]} / 2 )) operations not served: spec/deviations.json)"
  # The token lives for the server's token lifetime, far longer than a bounded run.
  (cd conformance && ACCESSD_FAMILY="$family" SCHEMATHESIS_HOOKS=hooks \
    PYTHONPATH="$root/conformance" "$venv/bin/schemathesis" --no-color run "$root/spec/$family.json" \
      --url "$base$prefix" \
      -H "Authorization: Bearer $token" \
      -H "X-SailPoint-Experimental: true" \
      --phases examples,coverage,fuzzing \
      --max-examples "${SCHEMATHESIS_MAX_EXAMPLES:-10}" \
      --max-time "${SCHEMATHESIS_MAX_TIME:-30}" \
      --seed "${SCHEMATHESIS_SEED:-20261202}" \
      --workers "${SCHEMATHESIS_WORKERS:-1}" \
      "${excluded[@]}") || status=1
done
if grep -a -q "panicked" "$work/server.log"; then
  echo "schemathesis: the server log has a panic:"; grep -a -A5 panicked "$work/server.log"; status=1
fi
exit $status

#!/usr/bin/env bash
# Starts a real accessd (debug build) on a free port with a fresh SQLite database and
# the demo tenant, runs the official-SDK smoke tests (sdk-tests/run.sh) against it,
# and stops it. Exits non-zero if the server does not start or any SDK test fails.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

cargo build --quiet --bin accessd
bin="${CARGO_TARGET_DIR:-$root/target}/debug/accessd"
work=$(mktemp -d)
log="$work/accessd.log"
client_id="sdk-smoke-admin"
client_secret=$(python3 -c 'import secrets; print(secrets.token_hex(24))')

ACCESSD_ADDR=127.0.0.1:0 \
ACCESSD_DATABASE_URL="sqlite://$work/accessd.db" \
ACCESSD_DEMO=true \
ACCESSD_ADMIN_CLIENT_ID="$client_id" \
ACCESSD_ADMIN_CLIENT_SECRET="$client_secret" \
  "$bin" serve >"$log" 2>&1 &
pid=$!
cleanup() { kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

# The server prints its address once it is listening (port 0 → a free port).
base=""
for _ in $(seq 1 300); do
  base=$(sed -n 's/^accessd is listening on \(http[^ ]*\).*/\1/p' "$log" | head -n 1)
  [ -n "$base" ] && break
  kill -0 "$pid" 2>/dev/null || { echo "accessd exited during start-up:"; cat "$log"; exit 1; }
  sleep 0.1
done
[ -n "$base" ] || { echo "accessd did not start:"; cat "$log"; exit 1; }
echo "sdk-smoke: accessd at $base"

status=0
ACCESSD_BASE_URL="$base" ACCESSD_CLIENT_ID="$client_id" ACCESSD_CLIENT_SECRET="$client_secret" \
  bash "$root/sdk-tests/run.sh" || status=$?
if [ "$status" -ne 0 ]; then
  echo "---- accessd log (last 60 lines) ----"
  tail -n 60 "$log"
fi
exit "$status"

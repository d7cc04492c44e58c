#!/usr/bin/env bash
# Creates the two virtualenvs the Python SDK smoke tests run in, and installs the
# TypeScript SDK (ts/package.json pins sailpoint-api-client; ts/package-lock.json pins
# everything it pulls in) with the machine's Node.js. The PyPI package `sailpoint`
# ships the v3/beta SDKs in 1.x and the per-service v1 SDKs in 2.x under the same name,
# so each major line needs its own environment. Idempotent: an environment that already
# holds the pinned versions is left alone.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
python=${PYTHON:-python3}

# Pins: 1.4.2 is the last 1.x (modules sailpoint.v3 / sailpoint.beta); 2.1.72 was the
# newest 2.x on PyPI when these tests were written.
SAILPOINT_V3_VERSION=1.4.2
SAILPOINT_V1_VERSION=2.1.72
PYTEST_VERSION=8.3.4

ensure_venv() {
  local dir=$1 sailpoint_version=$2
  local py="$dir/bin/python"
  if [ -x "$py" ] && "$py" - "$sailpoint_version" "$PYTEST_VERSION" <<'PY' 2>/dev/null; then
import sys
from importlib.metadata import version
sys.exit(0 if (version("sailpoint"), version("pytest")) == (sys.argv[1], sys.argv[2]) else 1)
PY
    echo "setup: $(basename "$dir") already has sailpoint==$sailpoint_version"
    return
  fi
  echo "setup: installing sailpoint==$sailpoint_version into $(basename "$dir")"
  [ -x "$py" ] || "$python" -m venv "$dir"
  "$py" -m pip install --quiet --disable-pip-version-check \
    "sailpoint==$sailpoint_version" "pytest==$PYTEST_VERSION"
}

ensure_venv "$here/.venv-v3" "$SAILPOINT_V3_VERSION"
ensure_venv "$here/.venv-v1" "$SAILPOINT_V1_VERSION"

# The TypeScript SDK: `npm ci` installs exactly the lock file; skipped when the installed
# copy already is the pinned version.
ts="$here/ts"
pinned=$(node -p 'require(process.argv[1]).dependencies["sailpoint-api-client"]' "$ts/package.json")
installed=$(node -p 'try { require(process.argv[1]).version } catch (e) { "" }' \
  "$ts/node_modules/sailpoint-api-client/package.json" 2>/dev/null || true)
if [ "$installed" = "$pinned" ]; then
  echo "setup: ts already has sailpoint-api-client@$pinned"
else
  echo "setup: installing sailpoint-api-client@$pinned into ts/node_modules"
  (cd "$ts" && npm ci --silent --no-audit --no-fund)
fi

#!/usr/bin/env bash
# SDK smoke test: the official Python SDKs against an accessd that is already running.
# Needs ACCESSD_BASE_URL, ACCESSD_CLIENT_ID, ACCESSD_CLIENT_SECRET (an ORG_ADMIN client).
# Runs both suites even if the first fails; exits non-zero if either failed.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$here"

"$here/setup.sh" || exit 1

status=0
echo "== sailpoint 1.4.2 (v3, beta)"
"$here/.venv-v3/bin/python" -m pytest -q -p no:cacheprovider test_v3_beta.py test_deletion_v3_beta.py test_source_apps_beta.py "$@" || status=1
echo "== sailpoint 2.x (per-service v1)"
"$here/.venv-v1/bin/python" -m pytest -q -p no:cacheprovider test_v1.py test_deletion_v1.py test_source_apps_v1.py "$@" || status=1
exit $status

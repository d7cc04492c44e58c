#!/usr/bin/env bash
# The test command: the Rust unit and integration tests (real HTTP, real database),
# then the official Python SDKs against a running accessd. Installs what it needs
# (the SDK virtualenvs) through the project's own scripts.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

cargo test
bash scripts/sdk-smoke.sh

#!/usr/bin/env bash
# Runs every test: Swift unit tests, Swift end-to-end tests (hiredis, redis-cli) and the redis-py suite, all
# against a debug build made once.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-dependencies.sh --test
swift build --build-tests
swift test --skip-build
export RILL_SERVER_BIN="$PWD/.build/debug/rill-server"
python3 -m pytest -q -p no:cacheprovider Tests/python
